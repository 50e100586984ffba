//! The floating chat widget on dashboard pages: a launcher button with the unread badge,
//! opening a panel that shows the conversation list or one thread. Its state lives in
//! [`ChatState`](crate::state::ChatState), so it survives navigation between dashboard
//! pages, and in `localStorage`, so it survives reloads (read after hydration only).

use leptos::prelude::*;

use super::conversation_list::ConversationList;
use super::people_picker::PeoplePicker;
use super::search_box::SearchBox;
use super::thread::Thread;
use crate::model::ConversationId;
use crate::state::{ChatState, use_chat};

const STORAGE_KEY: &str = "parley.widget";

#[component]
pub fn Widget() -> impl IntoView {
    let state = use_chat();
    restore_and_remember(state);
    let open = state.widget_open;
    let selected = state.widget_conversation;
    let unread = move || state.total_unread();
    let select = Callback::new(move |id: ConversationId| selected.set(Some(id)));
    let launcher = NodeRef::<leptos::html::Button>::new();
    let jumped = Callback::new(move |c: crate::model::ConversationSummary| {
        selected.set(Some(c.id));
        open.set(true);
        super::message::focus_composer(c.id);
    });
    // Esc anywhere in the open widget (that nothing inside took) closes it and gives the
    // keyboard back to the launcher.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && !ev.default_prevented() && open.get_untracked() {
            ev.prevent_default();
            open.set(false);
            if let Some(button) = launcher.get_untracked() {
                let _ = button.focus();
            }
        }
    };
    let title = move || {
        selected
            .get()
            .and_then(|id| state.conversation(id))
            .map(|c| c.title)
            .unwrap_or_else(|| "Chat".to_string())
    };

    view! {
        <div class="widget" class:open=open on:keydown=on_keydown>
            <section id="parley-widget-panel" class="widget-panel" aria-label="Chat" hidden=move || !open.get()>
                <header class="widget-header">
                    <Show when=move || selected.get().is_some()>
                        <button type="button" class="icon" aria-label="All conversations" on:click=move |_| selected.set(None)>"←"</button>
                    </Show>
                    <h2>{title}</h2>
                    // In a host's frame there is no top bar to hold it.
                    {move || selected.get().map(|id| view! { <super::notifications::MuteButton conversation=id/> })}
                    <Show when=move || state.embedded.get()>
                        <super::theme::ThemeButton/>
                    </Show>
                    <button type="button" class="icon" aria-label="Minimise chat" on:click=move |_| open.set(false)>"–"</button>
                </header>
                {move || state.widget_problem.get().map(|problem| view! {
                    <div class="error-notice widget-problem" role="alert">
                        <p>{problem}</p>
                        <button type="button" class="secondary small" on:click=move |_| state.widget_problem.set(None)>"Dismiss"</button>
                    </div>
                })}
                {move || match selected.get() {
                    Some(id) if open.get() => view! { <Thread conversation=id/> }.into_any(),
                    Some(_) => ().into_any(),
                    None => view! {
                        <div class="widget-list">
                            <SearchBox on_open=Callback::new(move |(id, _): (ConversationId, String)| selected.set(Some(id)))/>
                            <ConversationList active=Signal::derive(move || selected.get()) on_select=select/>
                            <PeoplePicker on_open=Callback::new(move |c: crate::model::ConversationSummary| selected.set(Some(c.id)))/>
                            <super::notifications::NotificationsPrompt/>
                        </div>
                    }.into_any(),
                }}
                <Show when=move || !state.pages_offline.get()>
                    <p class="widget-note">"Offline reloads are off on this address (not HTTPS)"</p>
                </Show>
            </section>
            <button
                node_ref=launcher
                type="button"
                class="launcher"
                aria-controls="parley-widget-panel"
                aria-expanded=move || open.get().to_string()
                // Its name holds what it shows: the unread count is spoken too, and
                // "label in name" holds (WCAG 2.5.3).
                aria-label=move || match (open.get(), unread()) {
                    (true, _) => "Close chat".to_string(),
                    (false, 0) => "Open chat".to_string(),
                    (false, n) => format!("Open chat, {n} unread"),
                }
                on:click=move |_| open.update(|o| *o = !*o)
            >
                <svg class="launcher-icon" aria-hidden="true" viewBox="0 0 24 24" width="26" height="26">
                    <path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/>
                </svg>
                <Show when=move || { unread() > 0 }>
                    <span class="badge">{unread}<span class="visually-hidden">" unread"</span></span>
                </Show>
            </button>
            <super::switcher::QuickSwitcher on_open=jumped on_show=Callback::new(move |()| open.set(true))/>
        </div>
    }
}

/// Restores the widget's open state and conversation from `localStorage` once the page
/// is hydrated, and saves them whenever they change. The key is per user, so a shared
/// browser does not carry one person's widget into another's session.
fn restore_and_remember(state: ChatState) {
    let storage = || web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let (open, selected) = (state.widget_open, state.widget_conversation);
    Effect::new(move |restored: Option<bool>| {
        let value = format!(
            "{}:{}",
            if open.get() { "open" } else { "closed" },
            selected.get().map(|id| id.to_string()).unwrap_or_default()
        );
        let Some(key) = state
            .me
            .with(|me| me.as_ref().map(|me| format!("{STORAGE_KEY}.{}", me.id)))
        else {
            return false;
        };
        let Some(storage) = storage() else {
            return true;
        };
        if restored != Some(true) {
            if let Ok(Some(saved)) = storage.get_item(&key) {
                let mut parts = saved.split(':');
                open.set(parts.next() == Some("open"));
                selected.set(
                    parts
                        .next()
                        .and_then(|id| id.parse().ok())
                        .map(ConversationId),
                );
            }
        } else {
            let _ = storage.set_item(&key, &value);
        }
        true
    });
}
