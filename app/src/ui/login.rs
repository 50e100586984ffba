//! The sign-in page: a plain HTML form posting to `/auth/login`, so it works before the
//! wasm has loaded and never puts credentials in a URL.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::account::safe_next;

/// Where a form should lead afterwards: the page's `next` query parameter, if allowed.
pub fn next_page(query: Memo<ParamsMap>) -> String {
    query.with(|q| safe_next(&q.get("next").unwrap_or_default()).to_string())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    // `error=limited&retry=N`: too many wrong passwords from here, or for this name.
    let problem = move || {
        query.with(|q| match q.get("error").as_deref() {
            None => None,
            Some("limited") => {
                let secs = q
                    .get("retry")
                    .and_then(|r| r.parse::<u64>().ok())
                    .unwrap_or(60);
                Some(format!(
                    "Too many sign-in attempts. Try again in {secs} seconds."
                ))
            }
            Some(_) => Some("Wrong username or password.".to_string()),
        })
    };
    let next = move || next_page(query);
    view! {
        <main class="login-page">
            <form method="post" action="/auth/login" class="login-card">
                <h1>"Parley"</h1>
                <p class="muted">"Sign in to chat with your team."</p>
                {move || problem().map(|p| view! {
                    <p class="error-notice" role="alert">{p}</p>
                })}
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username" required autofocus/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </main>
    }
}
