//! `/account`: the signed-in person's own settings. Email notifications (on or off), and
//! personal access tokens for the REST API (`/api/v1/…`, described at
//! `/api/openapi.json`): make one (its secret shown this once), see them listed, revoke.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::bootstrap::WithBootstrap;
use super::dashboard::TopBar;
use super::widget::Widget;
use super::{ErrorNotice, iso_time};
use crate::api::{
    api_tokens, create_api_token, email_preferences, revoke_api_token, set_email_notifications,
};
use crate::model::{ApiScope, ApiToken, IssuedToken, MAX_API_TOKENS};

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <WithBootstrap>
            <div class="dashboard">
                <TopBar/>
                <main class="dashboard-main account">
                    <h1>"Your account"</h1>
                    <EmailSetting/>
                    <h2>"API tokens"</h2>
                    <p class="muted">
                        "A token lets a script or bot use Parley's REST API as you: it sees and "
                        "posts exactly where you may. Send it as "
                        <code>"Authorization: Bearer …"</code>
                        ". The API is described at "
                        <a href="/api/openapi.json">"/api/openapi.json"</a>
                        "."
                    </p>
                    <Tokens/>
                </main>
                <Widget/>
            </div>
        </WithBootstrap>
    }
}

#[component]
fn EmailSetting() -> impl IntoView {
    let preferences = Resource::new(|| (), |_| email_preferences());
    let problem = RwSignal::new(None::<String>);
    view! {
        <section aria-labelledby="email-setting">
            <h2 id="email-setting">"Email notifications"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match preferences.await {
                        Ok(p) => {
                            let enabled = RwSignal::new(p.enabled);
                            let toggle = move |on: bool| {
                                enabled.set(on);
                                problem.set(None);
                                spawn_local(async move {
                                    if let Err(e) = set_email_notifications(on).await {
                                        enabled.set(!on);
                                        problem.set(Some(e.message));
                                    }
                                });
                            };
                            let address = match p.email {
                                Some(email) => format!("Emails go to {email}."),
                                None => "Parley has no email address for you, so none are sent.".to_string(),
                            };
                            view! {
                                <label class="check">
                                    <input type="checkbox" prop:checked=enabled
                                        on:change=move |ev| toggle(event_target_checked(&ev))/>
                                    "Email me about mentions and direct messages I leave unread"
                                </label>
                                <p class="muted">{address}</p>
                            }.into_any()
                        }
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
            {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
        </section>
    }
    .into_any()
}

#[component]
fn Tokens() -> impl IntoView {
    let tokens = Resource::new(|| (), |_| api_tokens());
    let issued = RwSignal::new(None::<IssuedToken>);
    let problem = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let write = RwSignal::new(false);
    let make = move || {
        problem.set(None);
        let (n, w) = (name.get_untracked(), write.get_untracked());
        spawn_local(async move {
            match create_api_token(n, w).await {
                Ok(made) => {
                    issued.set(Some(made));
                    name.set(String::new());
                    tokens.refetch();
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    let ready = super::hydrated_here();
    let revoke = Callback::new(move |id: i64| {
        spawn_local(async move {
            match revoke_api_token(id).await {
                Ok(()) => tokens.refetch(),
                Err(e) => problem.set(Some(e.message)),
            }
        });
    });
    view! {
        <section aria-labelledby="new-token">
            <h3 id="new-token">"New token"</h3>
            <form class="token-form" on:submit=move |ev| { ev.prevent_default(); make(); }>
                <label class="field">
                    "What it is for"
                    <input type="text" aria-label="Token name" maxlength="80" required
                        placeholder="ERP order sync" prop:value=name
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label class="check">
                    <input type="checkbox" prop:checked=write
                        on:change=move |ev| write.set(event_target_checked(&ev))/>
                    "May post messages and open threads (otherwise it only reads)"
                </label>
                <button type="submit" class="primary" disabled=move || !ready.get()>"Make token"</button>
            </form>
            {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
            {move || issued.get().map(|made| view! {
                <div class="issued" role="status">
                    <p>{format!("Your token \u{201c}{}\u{201d}. Copy it now: it is not shown again.", made.token.name)}</p>
                    <input type="text" readonly aria-label="New token" class="secret" prop:value=made.secret
                        on:focus=move |ev| {
                            use wasm_bindgen::JsCast;
                            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                input.select();
                            }
                        }/>
                </div>
            })}
        </section>
        <section aria-labelledby="your-tokens">
            <h3 id="your-tokens">"Your tokens"</h3>
            <p class="muted">{format!("Up to {MAX_API_TOKENS} at once. A revoked token stops working at once.")}</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! { <p>"No tokens yet."</p> }.into_any(),
                        Ok(list) => view! { <TokenTable list revoke/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

#[component]
fn TokenTable(list: Vec<ApiToken>, revoke: Callback<i64>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="orders">
                <thead><tr><th>"Name"</th><th>"May"</th><th>"Made"</th><th>"State"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|t| {
                        let may = if t.scopes.contains(&ApiScope::Write) { "read and write" } else { "read" };
                        let made = iso_time(t.created_at_ms);
                        let state = match t.revoked_at_ms {
                            Some(at) => view! { <span class="muted">{format!("revoked {}", &iso_time(at)[..10])}</span> }.into_any(),
                            None => {
                                let id = t.id;
                                view! {
                                    <button type="button" class="secondary" aria-label=format!("Revoke {}", t.name)
                                        on:click=move |_| revoke.run(id)>"Revoke"</button>
                                }.into_any()
                            }
                        };
                        view! {
                            <tr>
                                <td>{t.name}</td>
                                <td>{may}</td>
                                <td><time datetime=made.clone()>{made[..10].to_string()}</time></td>
                                <td>{state}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
