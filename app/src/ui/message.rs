//! One message in the log: an `article` with the sender's name, the time and the text.
//! The text is a Leptos text node, so whatever it contains is shown, never interpreted.

use leptos::prelude::*;

use super::state::{Outgoing, use_chat};
use super::{clock, iso_time};
use crate::model::Message;

#[component]
pub fn MessageItem(message: Message) -> impl IntoView {
    let state = use_chat();
    let mine = state
        .me
        .with_untracked(|me| me.as_ref().is_some_and(|me| me.id == message.sender_id));
    let ms = message.created_at_ms;
    view! {
        <article class="message" class:mine=mine data-seq=message.seq>
            <header>
                <span class="sender">{message.sender_name}</span>
                <time datetime=iso_time(ms)>{move || clock(ms, state.hydrated.get())}</time>
            </header>
            <p class="body">{message.body}</p>
        </article>
    }
}

/// A message the user sent that is not acked yet: *sending*, or *failed* with the
/// server's reason and the choice to retry or discard.
#[component]
pub fn OutgoingItem(outgoing: Outgoing) -> impl IntoView {
    let state = use_chat();
    let name = state.me.with_untracked(|me| {
        me.as_ref()
            .map(|me| me.display_name.clone())
            .unwrap_or_default()
    });
    let client_id = outgoing.client_id;
    let status = match &outgoing.failed {
        None => view! { <p class="status">"Sending…"</p> }.into_any(),
        Some(error) => view! {
            <p class="status failed" role="alert">{format!("Not sent: {}", error.message)}</p>
            <div class="actions">
                <button type="button" on:click=move |_| state.retry(client_id)>"Retry"</button>
                <button type="button" on:click=move |_| state.discard(client_id)>"Discard"</button>
            </div>
        }
        .into_any(),
    };
    view! {
        <article class="message mine outgoing" class:failed=outgoing.failed.is_some()>
            <header><span class="sender">{name}</span></header>
            <p class="body">{outgoing.body}</p>
            {status}
        </article>
    }
}
