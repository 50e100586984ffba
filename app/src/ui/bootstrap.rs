//! Loads who is signed in and their conversations into [`ChatState`] before anything
//! under it renders, on the server (so the first paint has them) and again in the
//! browser after every reconnect (so nothing missed stays missing).

use leptos::prelude::*;
use leptos::task::spawn_local;

use leptos_meta::Html;

use super::ErrorNotice;
use crate::api::get_bootstrap;
use crate::state::use_chat;

#[component]
pub fn WithBootstrap(children: ChildrenFn) -> impl IntoView {
    let state = use_chat();
    // The conversation this page shows, so the list holds it however old it is.
    let open = leptos_router::hooks::use_location()
        .pathname
        .get_untracked()
        .strip_prefix("/chat/")
        .map(str::to_string);
    let boot = OnceResource::new(get_bootstrap(open.clone()));
    // After a reconnect: refetch in place, without re-rendering the page under it.
    Effect::new(move |previous: Option<u32>| {
        let round = state.resync.get();
        if previous.is_some_and(|p| p != round) {
            spawn_local(async move {
                if let Ok(fresh) = get_bootstrap(None).await {
                    state.seed(fresh);
                }
            });
        }
        round
    });
    // The "Theme" button's choice, on `<html>` at once (browser only).
    Effect::new(move |_| {
        let theme = state.theme.get();
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme.as_str());
        }
    });
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match boot.await {
                    Ok(boot) => {
                        // Untracked, as in the thread: seeding must not re-run this view.
                        untrack(|| state.seed(boot));
                        // A plain value: the server writes `<html>` after this render is
                        // done, where no signal may be read. Changes later are the
                        // effect's below.
                        let theme = state.theme.get_untracked().as_str();
                        view! {
                            <Html {..} data-theme=theme/>
                            {children.with_value(|c| c())}
                        }
                        .into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
