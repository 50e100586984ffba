//! Full-screen chat at `/chat` and `/chat/{conversation}`: the conversation list as a
//! sidebar, the selected conversation's thread beside it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_location, use_navigate, use_params_map};

use super::SignOut;
use super::admin::ExportLinks;
use super::bootstrap::WithBootstrap;
use super::conversation_list::ConversationList;
use super::dashboard::Me;
use super::groups::{GroupActions, NewGroup};
use super::members::MembersPanel;
use super::people_picker::PeoplePicker;
use super::search_box::SearchBox;
use super::thread::Thread;
use crate::api::get_conversation;
use crate::model::ConversationSummary;
use crate::state::use_chat;

#[component]
pub fn ChatLayout() -> impl IntoView {
    let state = use_chat();
    let location = use_location();
    let active = Memo::new(move |_| {
        let path = location.pathname.get();
        let slug = path.strip_prefix("/chat/")?.to_string();
        state.conversation_by_slug(&slug).map(|c| c.id)
    });
    let navigate = use_navigate();
    let go = navigate.clone();
    let opened = Callback::new(move |c: ConversationSummary| {
        go(&format!("/chat/{}", c.slug), Default::default());
    });
    let jump = navigate.clone();
    let jumped = Callback::new(move |c: ConversationSummary| {
        jump(&format!("/chat/{}", c.slug), Default::default());
        super::message::focus_composer(c.id);
    });
    let found = Callback::new(move |(_, slug): (crate::model::ConversationId, String)| {
        navigate(&format!("/chat/{slug}"), Default::default());
    });
    view! {
        <WithBootstrap>
            <div class="chat-app" class:has-selection=move || active.get().is_some()>
                <header class="topbar">
                    <a class="brand" href="/chat">"Parley"</a>
                    <nav aria-label="Pages">
                        <a href="/dashboard">"Dashboard"</a>
                    </nav>
                    <ConnectionStatus/>
                    <super::theme::ThemeButton/>
                    <Me/>
                    <SignOut/>
                </header>
                <div class="chat-body">
                    <aside class="sidebar">
                        <SearchBox on_open=found/>
                        <ConversationList active=active/>
                        <PeoplePicker on_open=opened/>
                        <NewGroup on_open=opened/>
                        <super::notifications::NotificationsPrompt/>
                    </aside>
                    <main class="chat-main">
                        <Outlet/>
                    </main>
                </div>
                <super::switcher::QuickSwitcher on_open=jumped/>
            </div>
        </WithBootstrap>
    }
}

#[component]
pub fn ChatIndex() -> impl IntoView {
    view! {
        <div class="empty-pane">
            <h1>"Pick a conversation"</h1>
            <p class="muted">"Choose a channel, a person or an order thread on the left."</p>
        </div>
    }
}

#[component]
pub fn ChatConversation() -> impl IntoView {
    let state = use_chat();
    let params = use_params_map();
    let selected = Memo::new(move |_| {
        let slug = params.with(|p| p.get("conversation"))?;
        state.conversation_by_slug(&slug).map(|c| c.id)
    });
    // Reached in the browser, a conversation the list does not hold (an order thread
    // neither followed nor recently active, from a search or a link) is fetched by its
    // page name and added to it. (A page load gets it with the list.)
    Effect::new(move |_| {
        let Some(slug) = params.with(|p| p.get("conversation")) else {
            return;
        };
        if selected.get().is_none() {
            spawn_local(async move {
                if let Ok(found) = get_conversation(slug).await {
                    state.upsert_conversation(found);
                }
            });
        }
    });
    let title = move || {
        selected
            .get()
            .and_then(|id| state.conversation(id))
            .map(|c| c.title)
    };
    let navigate = use_navigate();
    let left = Callback::new(move |()| navigate("/chat", Default::default()));
    let is_admin = move || {
        state.hydrated.get()
            && state.me.with(|me| {
                me.as_ref()
                    .is_some_and(|me| crate::rules::can_administer(&crate::rules::Actor::from(me)))
            })
    };
    let pane = move |id: crate::model::ConversationId| {
        view! {
                <div class="pane">
                    <header class="pane-header">
                        <a href="/chat" class="back" aria-label="All conversations">"←"</a>
                        <h1>{title}</h1>
                        <super::notifications::MuteButton conversation=id/>
                        <GroupActions conversation=id on_left=left/>
                        <Show when=is_admin>
                            <ExportLinks conversation=id/>
                        </Show>
                    </header>
                    <div class="pane-body">
                        <Thread conversation=id/>
                        <MembersPanel conversation=id/>
                    </div>
                </div>
        }
        .into_any()
    };
    view! {
        {move || match selected.get() {
            Some(id) => pane(id),
            None => {
                // Rendered on the server with the list, which holds every conversation
                // the person may see: the page answers 404, like the API does.
                crate::api::respond_not_found();
                view! {
                <div class="empty-pane">
                    <h1>"Conversation not found"</h1>
                    <p class="muted">"It does not exist, or you are not a member of it."</p>
                </div>
            }.into_any()
            }
        }}
    }
}

/// "Reconnecting…" while the live connection is down, nothing while it is up.
#[component]
pub fn ConnectionStatus() -> impl IntoView {
    use crate::state::Connection;
    let state = use_chat();
    view! {
        <span class="connection" role="status">
            {move || match (state.hydrated.get(), state.connection.get()) {
                (true, Connection::Offline) => "Offline — reconnecting…",
                (true, Connection::Connecting) => "Connecting…",
                _ => "",
            }}
        </span>
        <Show when=move || !state.pages_offline.get()>
            <span class="connection notice" title="Browsers keep pages for offline use only on HTTPS (or localhost).">
                "Offline reloads are off on this address (not HTTPS)"
            </span>
        </Show>
    }
}
