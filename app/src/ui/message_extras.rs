//! The smaller parts of a message: its reactions (toggle buttons named "{emoji name}:
//! {count}", pressed when one of them is yours), the "Reactions" menu behind "Add
//! reaction", and its "Edit history".

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::clock;
use crate::api::{edit_history, react};
use crate::model::{Emoji, Message, MessageId};
use crate::state::{ChatState, use_chat};

/// Sets or removes the user's reaction and shows the answer at once (everyone else gets
/// it over the live connection).
fn toggle(state: ChatState, message: MessageId, emoji: Emoji, on: bool) {
    spawn_local(async move {
        match react(message, emoji, on).await {
            Ok(changed) => state.replace_message(&changed),
            Err(e) => leptos::logging::warn!("reaction refused: {e}"),
        }
    });
}

#[component]
pub fn ReactionBar(message: Memo<Message>) -> impl IntoView {
    let state = use_chat();
    let me = move || state.me.with(|me| me.as_ref().map(|me| me.id));
    view! {
        <Show when=move || message.with(|m| !m.reactions.is_empty() && !m.deleted)>
            <div class="reactions">
                {move || {
                    let m = message.get();
                    m.reactions
                        .iter()
                        .map(|r| {
                            let emoji = r.emoji;
                            let count = r.users.len();
                            let mine = me().is_some_and(|me| r.users.contains(&me));
                            let id = m.id;
                            let label = format!("{}: {count}", emoji.name());
                            view! {
                                <button
                                    type="button"
                                    class="reaction"
                                    class:mine=mine
                                    aria-pressed=if mine { "true" } else { "false" }
                                    aria-label=label
                                    disabled=move || !state.hydrated.get()
                                    on:click=move |_| toggle(state, id, emoji, !mine)
                                >
                                    <span aria-hidden="true">{emoji.glyph()}</span>
                                    <span class="count" aria-hidden="true">{count}</span>
                                </button>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </Show>
    }
}

/// "Add reaction" and the menu of the six reactions it opens.
#[component]
pub fn ReactionPicker(message: Memo<Message>) -> impl IntoView {
    let state = use_chat();
    let open = RwSignal::new(false);
    let choose = move |emoji: Emoji| {
        open.set(false);
        let m = message.get_untracked();
        let mine = state
            .me
            .with_untracked(|me| me.as_ref().is_some_and(|me| m.reacted(me.id, emoji)));
        toggle(state, m.id, emoji, !mine);
    };
    view! {
        <span class="reaction-picker">
            <button
                type="button"
                class="action"
                aria-haspopup="menu"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=move |_| open.update(|o| *o = !*o)
            >
                "Add reaction"
            </button>
            <Show when=move || open.get()>
                <div
                    class="reaction-menu"
                    role="menu"
                    aria-label="Reactions"
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            ev.prevent_default();
                            open.set(false);
                        }
                    }
                >
                    {Emoji::ALL
                        .into_iter()
                        .map(|emoji| view! {
                            <button
                                type="button"
                                role="menuitem"
                                aria-label=emoji.name()
                                title=emoji.name()
                                on:click=move |_| choose(emoji)
                            >
                                {emoji.glyph()}
                            </button>
                        })
                        .collect_view()}
                </div>
            </Show>
        </span>
    }
}

/// "Edit history": every text the message has had, oldest first, loaded when opened.
#[component]
pub fn EditHistory(message: MessageId) -> impl IntoView {
    let state = use_chat();
    let open = RwSignal::new(false);
    let versions = RwSignal::new(None::<Result<Vec<crate::model::MessageVersion>, String>>);
    let toggle_open = move |_| {
        let now_open = !open.get_untracked();
        open.set(now_open);
        if now_open {
            spawn_local(async move {
                versions.set(Some(edit_history(message).await.map_err(|e| e.message)));
            });
        }
    };
    view! {
        <button
            type="button"
            class="link-button"
            aria-expanded=move || if open.get() { "true" } else { "false" }
            on:click=toggle_open
        >
            "Edit history"
        </button>
        <Show when=move || open.get()>
            <div class="edit-history" role="region" aria-label="Edit history">
                {move || match versions.get() {
                    None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
                    Some(Ok(list)) => view! {
                        <ol>
                            {list
                                .into_iter()
                                .map(|v| {
                                    let ms = v.created_at_ms;
                                    view! {
                                        <li>
                                            <time>{move || clock(ms, state.hydrated.get())}</time>
                                            " "
                                            <span class="version-text">{v.body}</span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ol>
                    }
                    .into_any(),
                }}
            </div>
        </Show>
    }
}
