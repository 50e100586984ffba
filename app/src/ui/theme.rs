//! The "Theme" button (SPEC.md §9): cycles system → light → dark, says the current one in
//! its name ("Theme: dark"), and keeps the choice on the server for every page and device.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::set_theme;
use crate::model::Theme;
use crate::state::use_chat;

#[component]
pub fn ThemeButton() -> impl IntoView {
    let state = use_chat();
    let theme = state.theme;
    let switch = move |_| {
        let next = theme.get_untracked().next();
        theme.set(next);
        spawn_local(async move {
            if let Err(e) = set_theme(next).await {
                leptos::logging::warn!("the theme was not kept: {}", e.message);
            }
        });
    };
    view! {
        <button type="button" class="icon theme-button"
            aria-label=move || format!("Theme: {}", theme.get().as_str())
            title=move || format!("Theme: {} (click to switch)", theme.get().as_str())
            on:click=switch>
            <span aria-hidden="true">{move || match theme.get() {
                Theme::System => "◐",
                Theme::Light => "☀",
                Theme::Dark => "☾",
            }}</span>
        </button>
    }
}
