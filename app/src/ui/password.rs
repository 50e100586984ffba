//! Choosing a new password after signing in with a one-time one (the admin account that
//! an empty database starts with). A plain HTML form posting to `/auth/password`, like the
//! sign-in page; the server sends every other page here until it is done.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::account::{MIN_PASSWORD_CHARS, PasswordProblem};

#[component]
pub fn NewPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let problem = move || {
        query.with(|q| {
            q.get("error")
                .and_then(|e| PasswordProblem::parse(&e))
                .map(PasswordProblem::message)
        })
    };
    let next = move || super::login::next_page(query);
    view! {
        <main class="login-page">
            <form method="post" action="/auth/password" class="login-card">
                <h1>"Choose your password"</h1>
                <p class="muted">
                    "You signed in with a one-time password. Choose your own to continue."
                </p>
                {move || problem().map(|text| view! {
                    <p class="error-notice" role="alert">{text}</p>
                })}
                <label for="password">"New password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password"
                    minlength=MIN_PASSWORD_CHARS.to_string() required autofocus/>
                <label for="repeat">"Confirm password"</label>
                <input id="repeat" name="repeat" type="password" autocomplete="new-password"
                    minlength=MIN_PASSWORD_CHARS.to_string() required/>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="primary">"Save password"</button>
            </form>
        </main>
    }
}
