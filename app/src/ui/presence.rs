//! The presence dot: online, away or offline, with its text alternative.

use leptos::prelude::*;

use crate::model::{Presence, UserId};
use crate::state::use_chat;

#[component]
pub fn PresenceDot(user: UserId) -> impl IntoView {
    let state = use_chat();
    let presence = move || state.presence_of(user);
    let class = move || match presence() {
        Presence::Online => "presence online",
        Presence::Away => "presence away",
        Presence::Offline => "presence offline",
    };
    view! {
        <span class=class role="img" aria-label=move || presence().label() title=move || presence().label()></span>
    }
}
