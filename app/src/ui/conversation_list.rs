//! The list of conversations a user can see, grouped as channels, direct messages and
//! order threads, each a link named by the conversation, with a line of its newest
//! message and its unread count beside it.

use leptos::prelude::*;

use super::presence::PresenceDot;
use crate::model::{ConversationId, ConversationKind, ConversationSummary};
use crate::state::use_chat;

#[component]
pub fn ConversationList(
    /// The conversation shown next to the list, highlighted.
    #[prop(into)]
    active: Signal<Option<ConversationId>>,
    /// When set, a click selects in place (the widget) instead of following the link.
    #[prop(optional)]
    on_select: Option<Callback<ConversationId>>,
) -> impl IntoView {
    let state = use_chat();
    let section = move |heading: &'static str, kinds: &'static [ConversationKind]| {
        let items = Memo::new(move |_| {
            state.conversations.with(|cs| {
                cs.iter()
                    .filter(|c| kinds.contains(&c.kind))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        });
        view! {
            <Show when=move || items.with(|i| !i.is_empty())>
                <h3 class="list-heading">{heading}</h3>
                <ul>
                    <For each=move || items.get() key=|c| (c.id, c.unread, c.mentions, c.title.clone(), c.last_message.clone()) let:c>
                        <Entry conversation=c active on_select/>
                    </For>
                </ul>
            </Show>
        }
    };
    view! {
        <nav aria-label="Conversations" class="conversation-list">
            {section("Channels", &[ConversationKind::Channel])}
            {section("Direct messages", &[ConversationKind::Direct, ConversationKind::Group])}
            {section("Orders", &[ConversationKind::Order])}
        </nav>
    }
}

#[component]
fn Entry(
    conversation: ConversationSummary,
    active: Signal<Option<ConversationId>>,
    on_select: Option<Callback<ConversationId>>,
) -> impl IntoView {
    let state = use_chat();
    let id = conversation.id;
    let unread = conversation.unread;
    let mentions = conversation.mentions;
    let partner = state.partner(&conversation);
    let href = format!("/chat/{}", conversation.slug);
    // "You: …", "Carol: …" (not in a direct message, where the title names them).
    let preview = conversation.last_message.map(|last| {
        let me = state.me.with_untracked(|me| me.as_ref().map(|me| me.id));
        let who = if me == Some(last.sender_id) {
            Some("You".to_string())
        } else if conversation.kind == ConversationKind::Direct {
            None
        } else {
            last.sender_name
                .split_whitespace()
                .next()
                .map(str::to_string)
        };
        let what = if last.deleted {
            "Message deleted".to_string()
        } else {
            last.excerpt
        };
        match who {
            Some(who) => format!("{who}: {what}"),
            None => what,
        }
    });
    let click = move |ev: leptos::ev::MouseEvent| {
        if let Some(select) = on_select
            && !(ev.ctrl_key() || ev.meta_key() || ev.shift_key())
        {
            ev.prevent_default();
            select.run(id);
        }
    };
    view! {
        <li class="entry" class:active=move || active.get() == Some(id) class:unread={unread > 0}>
            <a href=href on:click=click aria-current=move || (active.get() == Some(id)).then_some("page")>
                <span class="entry-title">{conversation.title}</span>
                {preview.map(|p| view! { <span class="entry-preview">{p}</span> })}
            </a>
            {partner.map(|user| view! { <PresenceDot user/> })}
            <Show when=move || state.muted.with(|m| m.contains(&id))>
                <span class="muted-mark" title="Muted"><span aria-hidden="true">"🔕"</span><span class="visually-hidden">" muted"</span></span>
            </Show>
            {(mentions > 0).then(|| view! {
                <span class="mentions">"@"{mentions}<span class="visually-hidden">{if mentions == 1 { " mention" } else { " mentions" }}</span></span>
            })}
            {(unread > 0).then(|| view! {
                <span class="count">{unread}<span class="visually-hidden">" unread"</span></span>
            })}
        </li>
    }
}
