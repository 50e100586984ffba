//! `/admin`: settings for administrators. For now the connection mode: how browsers carry
//! the live connection (WebSocket with automatic fallback, WebSocket only, or Server-Sent
//! Events for networks that block WebSockets). The server checks the role again.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::bootstrap::WithBootstrap;
use super::dashboard::Me;
use super::state::use_chat;
use super::{ErrorNotice, SignOut};
use crate::api::{get_connection_mode, set_connection_mode};
use crate::model::{ConnectionMode, Role};

#[component]
pub fn AdminPage() -> impl IntoView {
    let state = use_chat();
    let is_admin = move || {
        state
            .me
            .with(|me| me.as_ref().is_some_and(|me| me.role == Role::Admin))
    };
    view! {
        <WithBootstrap>
            <div class="dashboard">
                <header class="topbar">
                    <a class="brand" href="/dashboard">"Axiom Ops"</a>
                    <nav aria-label="Dashboard">
                        <a href="/dashboard">"Overview"</a>
                        <a href="/chat">"Chat"</a>
                    </nav>
                    <Me/>
                    <SignOut/>
                </header>
                <main class="dashboard-main">
                    <h1>"Administration"</h1>
                    <Show when=is_admin fallback=|| view! { <p>"Only administrators can change settings."</p> }>
                        <ConnectionModeSetting/>
                    </Show>
                </main>
            </div>
        </WithBootstrap>
    }
}

#[component]
fn ConnectionModeSetting() -> impl IntoView {
    let current = Resource::new(|| (), |_| get_connection_mode());
    let chosen = RwSignal::new(None::<ConnectionMode>);
    let status = RwSignal::new(None::<Result<(), String>>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(mode) = chosen.get_untracked() else {
            return;
        };
        spawn_local(async move {
            status.set(Some(set_connection_mode(mode).await.map_err(|e| e.message)));
        });
    };
    let option = move |mode: ConnectionMode, label: &'static str, hint: &'static str| {
        view! {
            <label class="choice">
                <input
                    type="radio"
                    name="connection_mode"
                    value=mode.as_str()
                    prop:checked=move || chosen.get() == Some(mode)
                    on:change=move |_| chosen.set(Some(mode))
                />
                <span>{label}<span class="muted">{format!(" — {hint}")}</span></span>
            </label>
        }
    };
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match current.await {
                    Ok(mode) => {
                        if chosen.get_untracked().is_none() {
                            chosen.set(Some(mode));
                        }
                        view! {
                            <form class="settings" on:submit=save>
                                <fieldset>
                                    <legend>"Connection mode"</legend>
                                    {option(ConnectionMode::Auto, "Automatic", "WebSocket, falling back to Server-Sent Events when it cannot open")}
                                    {option(ConnectionMode::WebSocket, "WebSocket only", "")}
                                    {option(ConnectionMode::Sse, "Server-Sent Events", "for networks that block WebSockets")}
                                </fieldset>
                                <button type="submit" class="primary">"Save"</button>
                                {move || status.get().map(|s| match s {
                                    Ok(()) => view! { <p role="status">"Saved. Pages opened from now on use it."</p> }.into_any(),
                                    Err(e) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
                                })}
                            </form>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
