//! The composer: the message box and Send, the reply being written ("Replying to …"),
//! and the list of people `@` offers to mention. Sending puts the message in the outbox
//! (see [`ChatState::send_message`](crate::state::ChatState::send_message)).

use leptos::html::Textarea;
use leptos::prelude::*;

use super::attachments::{AttachFiles, Upload};
use super::mention_list::{
    MentionList, MentionOption, mention_list_id, mention_option_id, mention_options,
};
use crate::api::list_members;
use crate::model::{ConversationId, DEFAULT_MAX_MESSAGE_CHARS, Seq, mention_at, validate_body};
use crate::state::{ChatState, use_chat};

/// While typing, a typing frame goes out at most this often.
const TYPING_EVERY_MS: f64 = 2_500.0;

#[component]
pub fn Composer(conversation: ConversationId) -> impl IntoView {
    let state = use_chat();
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let input = NodeRef::<Textarea>::new();
    // Mentions: who may be mentioned here (loaded in the browser when first needed),
    // the `@…` being typed, and the highlighted choice.
    let caret = RwSignal::new(0_usize);
    let members = LocalResource::new(move || list_members(conversation));
    let typed = Memo::new(move |_| {
        text.with(|t| mention_at(t, caret.get()).map(|(at, typed)| (at, typed.to_string())))
    });
    let options = Memo::new(move |_| {
        let Some((_, typed)) = typed.get() else {
            return Vec::new();
        };
        let people = members.get().and_then(Result::ok).unwrap_or_default();
        state
            .me
            .with(|me| mention_options(&people, me.as_ref(), &typed))
    });
    let active = RwSignal::new(0_usize);
    let listing = move || !options.with(Vec::is_empty);
    let choose = Callback::new(move |option: MentionOption| {
        let Some((at, typed)) = typed.get_untracked() else {
            return;
        };
        let end = at + 1 + typed.len();
        let mut value = text.get_untracked();
        value.replace_range(at..end, &option.insert);
        let new_caret = at + option.insert.len();
        text.set(value.clone());
        caret.set(new_caret);
        active.set(0);
        if let Some(el) = input.get_untracked() {
            el.set_value(&value);
            let at = utf16_len(&value[..new_caret]);
            let _ = el.set_selection_range(at, at);
            let _ = el.focus();
        }
    });
    let replying = Memo::new(move |_| state.replying.with(|r| r.get(&conversation).cloned()));
    // Choosing "Reply" on a message puts the cursor here.
    Effect::new(move |_| {
        if replying.with(Option::is_some)
            && let Some(el) = input.get_untracked()
        {
            let _ = el.focus();
        }
    });
    // Say "typing" at most this often while keys are pressed.
    let last_typing = StoredValue::new(0.0_f64);
    let uploads = RwSignal::new(Vec::<Upload>::new());
    let submit = move || {
        if uploads.with_untracked(|u| u.iter().any(|up| up.outcome.is_none())) {
            problem.set(Some("Wait until the files are uploaded.".into()));
            return;
        }
        let attachments: Vec<crate::model::Attachment> = uploads.with_untracked(|u| {
            u.iter()
                .filter_map(|up| up.outcome.clone().and_then(Result::ok))
                .collect()
        });
        let mut body = text.get_untracked();
        if body.trim().is_empty() && !attachments.is_empty() {
            // A message needs text; files alone are sent under their names.
            body = attachments
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
        }
        let limit = state
            .settings
            .with_untracked(|s| s.as_ref().map(|s| s.max_message_chars))
            .unwrap_or(DEFAULT_MAX_MESSAGE_CHARS);
        match validate_body(&body, limit) {
            Ok(body) => {
                last_typing.set_value(0.0);
                let reply_to = replying.get_untracked();
                state.cancel_reply(conversation);
                state.send_message(
                    conversation,
                    body,
                    crate::client::new_client_id(),
                    reply_to,
                    attachments,
                );
                uploads.set(Vec::new());
                text.set(String::new());
                problem.set(None);
            }
            Err(e) => problem.set(Some(e.message)),
        }
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    let track_caret = move || {
        if let Some(el) = input.get_untracked() {
            let value = el.value();
            let at = el.selection_start().ok().flatten().unwrap_or(0);
            caret.set(byte_index(&value, at));
        }
    };
    let on_input = move |ev: leptos::ev::Event| {
        text.set(event_target_value(&ev));
        track_caret();
        active.set(0);
        let now = js_sys::Date::now();
        if now - last_typing.get_value() > TYPING_EVERY_MS {
            last_typing.set_value(now);
            state.say_typing(conversation);
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if listing() && !ev.is_composing() {
            let count = options.with_untracked(Vec::len);
            match ev.key().as_str() {
                "ArrowDown" => {
                    ev.prevent_default();
                    active.update(|n| *n = (*n + 1) % count);
                    return;
                }
                "ArrowUp" => {
                    ev.prevent_default();
                    active.update(|n| *n = (*n + count - 1) % count);
                    return;
                }
                "Enter" | "Tab" => {
                    ev.prevent_default();
                    let chosen = options.with_untracked(|o| o.get(active.get_untracked()).cloned());
                    if let Some(option) = chosen {
                        choose.run(option);
                    }
                    return;
                }
                "Escape" => {
                    ev.prevent_default();
                    caret.set(0);
                    return;
                }
                _ => {}
            }
        }
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        } else if ev.key() == "Escape" && replying.with_untracked(Option::is_some) {
            // Only the reply goes; the widget around stays open.
            ev.prevent_default();
            state.cancel_reply(conversation);
        } else if ev.key() == "ArrowUp"
            && !ev.is_composing()
            && text.with_untracked(|t| t.is_empty())
            && let Some(last) = last_editable(state, conversation)
        {
            ev.prevent_default();
            state.edit_request.set(Some((conversation, last)));
        }
    };
    view! {
        <form class="composer" data-conversation=conversation.to_string() on:submit=move |ev| { ev.prevent_default(); submit(); }>
            {move || replying.get().map(|quote| view! {
                <div class="replying">
                    <span>{format!("Replying to {}", quote.sender_name)}</span>
                    <button type="button" class="link-button" on:click=move |_| state.cancel_reply(conversation)>
                        "Cancel reply"
                    </button>
                </div>
            })}
            <textarea
                node_ref=input
                aria-label="Message"
                placeholder="Write a message…"
                rows="2"
                prop:value=text
                aria-autocomplete="list"
                aria-controls=move || listing().then(|| mention_list_id(conversation))
                aria-activedescendant=move || listing().then(|| mention_option_id(conversation, active.get()))
                on:input=on_input
                on:keydown=on_keydown
                on:keyup=move |ev: leptos::ev::KeyboardEvent| {
                    if matches!(ev.key().as_str(), "ArrowLeft" | "ArrowRight" | "Home" | "End") {
                        track_caret();
                    }
                }
                on:click=move |_| track_caret()
            ></textarea>
            <Show when=listing>
                <MentionList conversation options active choose/>
            </Show>
            <AttachFiles conversation uploads/>
            <button type="submit" class="primary">"Send"</button>
            {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
        </form>
    }
    .into_any()
}

/// The byte index of the `utf16`-th UTF-16 code unit of `text` (how browsers count
/// caret positions).
fn byte_index(text: &str, utf16: u32) -> usize {
    let mut units = 0;
    for (at, c) in text.char_indices() {
        if units >= utf16 as usize {
            return at;
        }
        units += c.len_utf16();
    }
    text.len()
}

fn utf16_len(text: &str) -> u32 {
    text.encode_utf16().count() as u32
}

/// The newest message of mine in `conversation` that the rules let me edit now.
fn last_editable(state: ChatState, conversation: ConversationId) -> Option<Seq> {
    let me = state.me.with_untracked(|me| me.as_ref().map(|me| me.id))?;
    // The newest message of mine is one still sending: it cannot be edited yet, and an
    // older one is not what ↑ means.
    if state
        .outbox
        .with_untracked(|o| o.iter().any(|m| m.conversation_id == conversation))
    {
        return None;
    }
    let last = state.messages.with_untracked(|m| {
        m.get(&conversation)?
            .values()
            .rev()
            .find(|m| m.sender_id == me && !m.deleted)
            .cloned()
    })?;
    untrack(|| super::message::allowed(state, &last).edit).then_some(last.seq)
}
