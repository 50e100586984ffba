//! "Turn on notifications" (asks the browser once, where it was not asked yet) and each
//! conversation's "Mute" toggle, kept on the server per person.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::set_muted;
use crate::client::notify;
use crate::model::ConversationId;
use crate::state::use_chat;

/// Shown only in a browser that has notifications and was not asked yet.
#[component]
pub fn NotificationsPrompt() -> impl IntoView {
    let state = use_chat();
    // Read after hydration only: the server cannot know, and the first paint must match.
    let permission = RwSignal::new(None::<&'static str>);
    Effect::new(move |_| {
        if state.hydrated.get() {
            permission.set(notify::permission());
        }
    });
    view! {
        <Show when=move || permission.get() == Some("default")>
            <p class="notifications-prompt">
                <button type="button" class="secondary small"
                    on:click=move |_| notify::ask(move |answer| permission.set(Some(answer)))>
                    "Turn on notifications"
                </button>
                <span class="muted">" for mentions and direct messages while this tab is in the background"</span>
            </p>
        </Show>
    }
}

/// "Mute": `aria-pressed` says whether this conversation is muted for me.
#[component]
pub fn MuteButton(conversation: ConversationId) -> impl IntoView {
    let state = use_chat();
    let muted = move || state.muted.with(|m| m.contains(&conversation));
    let problem = RwSignal::new(None::<String>);
    let toggle = move |_| {
        let want = !muted();
        state.show_muted(conversation, want);
        spawn_local(async move {
            // Kept: every tab of mine hears it as a `muted` event (this one too).
            if let Err(e) = set_muted(conversation, want).await {
                // Not kept: show it as it is.
                state.show_muted(conversation, !want);
                problem.set(Some(e.message));
            }
        });
    };
    view! {
        <button type="button" class="secondary small mute-button"
            aria-pressed=move || muted().to_string()
            title=move || if muted() { "Muted: no notifications, not in the badge. Click to unmute." } else { "Mute this conversation" }
            on:click=toggle>
            <span aria-hidden="true">{move || if muted() { "🔕 " } else { "🔔 " }}</span>
            "Mute"
        </button>
        {move || problem.get().map(|p| view! { <span class="error-notice" role="alert">{p}</span> })}
    }
}
