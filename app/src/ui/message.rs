//! One message in the log: an `article` with the sender's name, the time, the quote of
//! the message it answers, the text (rendered from the Markdown subset by
//! [`crate::markdown`], so what anyone types is never interpreted as HTML), the reactions,
//! and the actions the rules allow this user: reply, react, edit, delete. Actions appear
//! once the page is hydrated (they depend on the clock and need the browser anyway).

use leptos::html::Textarea;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::attachments::AttachmentList;
use super::message_extras::{EditHistory, ReactionBar, ReactionPicker};
use super::{clock, iso_time};
use crate::api::{delete_message, edit_message};
use crate::markdown;
use crate::model::{
    ConversationId, DEFAULT_MAX_MESSAGE_CHARS, Message, ReplyQuote, Seq, validate_body,
};
use crate::rules::{self, Actor};
use crate::state::{ChatState, Outgoing, use_chat};

/// What this user may do with a message now, by [`crate::rules`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Allowed {
    respond: bool,
    pub(crate) edit: bool,
    delete: bool,
}

pub(crate) fn allowed(state: ChatState, message: &Message) -> Allowed {
    let (Some(me), Some(conversation)) = (
        state.me.with(|me| me.as_ref().map(Actor::from)),
        state.conversation(message.conversation_id),
    ) else {
        return Allowed::default();
    };
    let window = state
        .settings
        .with(|s| s.as_ref().map(|s| s.edit_window_ms))
        .unwrap_or_default();
    let audience = &conversation.audience;
    Allowed {
        respond: rules::check_respond(&me, audience, message).is_ok(),
        edit: rules::check_edit(&me, audience, message, state.now_ms.get() as i64, window).is_ok(),
        delete: rules::check_delete(&me, audience, message).is_ok(),
    }
}

#[component]
pub fn MessageItem(
    message: Message,
    /// It follows the same sender's message closely: no name or avatar shown again (the
    /// name stays for screen readers).
    #[prop(optional)]
    continued: Option<Signal<bool>>,
) -> impl IntoView {
    let state = use_chat();
    let conversation = message.conversation_id;
    let seq = message.seq;
    let initial = message.clone();
    let current = Memo::new(move |_| {
        state
            .messages
            .with(|m| m.get(&conversation).and_then(|t| t.get(&seq)).cloned())
            .unwrap_or_else(|| initial.clone())
    });
    let mine = state
        .me
        .with_untracked(|me| me.as_ref().is_some_and(|me| me.id == message.sender_id));
    let ms = message.created_at_ms;
    let editing = RwSignal::new(false);
    // `↑` in the composer asks for this message's edit box.
    Effect::new(move |_| {
        if state.edit_request.get() == Some((conversation, seq)) {
            state.edit_request.set(None);
            editing.set(true);
        }
    });
    let focused = move || state.focus.get() == Some((conversation, seq));
    let mentions_me = move || {
        state.me.with(|me| {
            me.as_ref()
                .is_some_and(|me| current.with(|m| !mine && m.mentions().include(&me.username)))
        })
    };

    let continued = move || continued.is_some_and(|c| c.get());
    let initials = initials(&message.sender_name);
    let hue = (message.sender_id.0.unsigned_abs() * 47) % 360;
    view! {
        <article
            class="message"
            class:continued=continued
            class:mine=mine
            class:mentions-me=mentions_me
            class:deleted=move || current.with(|m| m.deleted)
            id=article_id(conversation, seq)
            data-seq=seq
            aria-current=move || focused().then_some("true")
            tabindex="-1"
        >
            <header>
                {(!mine).then(|| view! {
                    <span class="avatar" aria-hidden="true" class:hidden=continued
                        style=format!("background: hsl({hue} 45% 34%)")>{initials.clone()}</span>
                })}
                <span class="sender" class:visually-hidden=continued>{message.sender_name.clone()}</span>
                <time datetime=iso_time(ms)
                    title=move || {
                        let local = state.hydrated.get();
                        format!("{}, {}", super::long_date(super::day_of(ms, local)), clock(ms, local))
                    }>{move || clock(ms, state.hydrated.get())}</time>
                <Show when=move || current.with(Message::edited)>
                    <span class="edited">"(edited)"</span>
                    <EditHistory message=current.get_untracked().id/>
                </Show>
            </header>
            {move || current.with(|m| m.reply_to.clone()).map(|quote| view! { <Quote conversation quote/> })}
            {move || {
                if current.with(|m| m.deleted) {
                    view! { <p class="body deleted-note">"Message deleted"</p> }.into_any()
                } else if editing.get() {
                    view! { <EditForm message=current.get_untracked() editing/> }.into_any()
                } else {
                    let html = current.with(|m| markdown::to_html(&m.body));
                    view! { <div class="body" inner_html=html></div> }.into_any()
                }
            }}
            {move || (!current.with(|m| m.deleted)).then(|| view! {
                <AttachmentList attachments=current.with(|m| m.attachments.clone())/>
            })}
            <ReactionBar message=current/>
            <Actions message=current editing/>
        </article>
    }
    .into_any()
}

/// A reply's quote of the message it answers; following it shows that message.
#[component]
fn Quote(conversation: ConversationId, quote: ReplyQuote) -> impl IntoView {
    let state = use_chat();
    let seq = quote.seq;
    let go = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        state.show_message(conversation, seq);
    };
    view! {
        <blockquote class="quote">
            <a href=format!("#{}", article_id(conversation, seq)) on:click=go aria-label="Go to the original message">
                <span class="quote-sender">{quote.sender_name.clone()}</span>
                <span class="quote-text">
                    {if quote.deleted { "Message deleted".to_string() } else { quote.excerpt.clone() }}
                </span>
            </a>
        </blockquote>
    }
}

/// Reply, Add reaction, Edit message, Delete message: those the rules allow.
#[component]
fn Actions(message: Memo<Message>, editing: RwSignal<bool>) -> impl IntoView {
    let state = use_chat();
    let can = Memo::new(move |_| {
        if !state.hydrated.get() {
            return Allowed::default();
        }
        message.with(|m| allowed(state, m))
    });
    let problem = RwSignal::new(None::<String>);
    let reply = move |_| {
        let m = message.get_untracked();
        state.reply_to(&m);
    };
    // Deleting asks first, in a small dialog beside the message.
    let confirming = RwSignal::new(false);
    let delete = move |_| {
        confirming.set(false);
        let id = message.get_untracked().id;
        spawn_local(async move {
            match delete_message(id).await {
                Ok(deleted) => state.replace_message(&deleted),
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    view! {
        <Show when=move || can.with(|c| c.respond || c.delete) && !editing.get()>
            <div class="message-actions">
                <Show when=move || can.with(|c| c.respond)>
                    <button type="button" class="action" on:click=reply>"Reply"</button>
                    <ReactionPicker message/>
                </Show>
                <Show when=move || can.with(|c| c.edit)>
                    <button type="button" class="action" on:click=move |_| editing.set(true)>"Edit message"</button>
                </Show>
                <Show when=move || can.with(|c| c.delete)>
                    <button type="button" class="action danger" on:click=move |_| confirming.set(true)>
                        "Delete message"
                    </button>
                </Show>
            </div>
        </Show>
        <Show when=move || confirming.get()>
            <div class="confirm" role="dialog" aria-label="Delete message?">
                <p>"Delete this message for everyone?"</p>
                <button type="button" class="danger-button" on:click=delete>"Delete"</button>
                <button type="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
            </div>
        </Show>
        {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
    }
}

/// The text being edited, with Save and Cancel. A conflict (another edit landed first)
/// is shown, never overwritten.
#[component]
fn EditForm(message: Message, editing: RwSignal<bool>) -> impl IntoView {
    let state = use_chat();
    let text = RwSignal::new(message.body.clone());
    let problem = RwSignal::new(None::<String>);
    let input = NodeRef::<Textarea>::new();
    let id = message.id;
    let version = message.version;
    let conversation = message.conversation_id;
    // Done editing: the keyboard goes back to the composer it came from.
    let finish = move || {
        editing.set(false);
        focus_composer(conversation);
    };
    // The cursor goes to the end of the text once the box is on the page.
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            request_animation_frame(move || {
                let _ = el.focus();
                let end = el.value().len() as u32;
                let _ = el.set_selection_range(end, end);
            });
        }
    });
    let save = move || {
        let limit = state
            .settings
            .with_untracked(|s| s.as_ref().map(|s| s.max_message_chars))
            .unwrap_or(DEFAULT_MAX_MESSAGE_CHARS);
        let body = match validate_body(&text.get_untracked(), limit) {
            Ok(body) => body,
            Err(e) => return problem.set(Some(e.message)),
        };
        spawn_local(async move {
            match edit_message(id, version, body).await {
                Ok(edited) => {
                    state.replace_message(&edited);
                    finish();
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" if !ev.shift_key() && !ev.is_composing() => {
            ev.prevent_default();
            save();
        }
        "Escape" => {
            ev.prevent_default();
            finish();
        }
        _ => {}
    };
    view! {
        <form class="edit-form" on:submit=move |ev| { ev.prevent_default(); save(); }>
            <textarea
                node_ref=input
                aria-label="Edit message"
                rows="2"
                prop:value=text
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=on_keydown
            ></textarea>
            <div class="edit-buttons">
                <button type="submit" class="primary">"Save"</button>
                <button type="button" on:click=move |_| finish()>"Cancel"</button>
            </div>
            {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
        </form>
    }
}

/// Up to two initials of a display name, for its avatar: "Carol Chen" → "CC".
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// Puts the keyboard in the composer of `conversation` (after an edit, or a jump to it).
/// The conversation may still be loading: it is looked for a few times.
pub fn focus_composer(conversation: crate::model::ConversationId) {
    fn attempt(conversation: crate::model::ConversationId, left: u32) {
        let found = document()
            .query_selector(&format!(
                "form.composer[data-conversation=\"{conversation}\"] textarea"
            ))
            .ok()
            .flatten()
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
        match found {
            Some(el) => {
                let _ = el.focus();
            }
            None if left > 0 => set_timeout(
                move || attempt(conversation, left - 1),
                std::time::Duration::from_millis(50),
            ),
            None => {}
        }
    }
    request_animation_frame(move || attempt(conversation, 40));
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
    let html = markdown::to_html(&outgoing.body);
    view! {
        <article class="message mine outgoing" class:failed=outgoing.failed.is_some()>
            <header><span class="sender">{name}</span></header>
            {outgoing.reply_to.clone().map(|quote| view! { <Quote conversation=outgoing.conversation_id quote/> })}
            <div class="body" inner_html=html></div>
            <AttachmentList attachments=outgoing.attachments.clone()/>
            {status}
        </article>
    }
}

/// The element id of a message's article.
pub fn article_id(conversation: ConversationId, seq: Seq) -> String {
    format!("message-{conversation}-{seq}")
}
