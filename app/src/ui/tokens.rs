//! `/account/tokens`: the signed-in person's personal access tokens for the REST API
//! (`/api/v1/…`, described at `/api/openapi.json`): make one (its secret shown this once),
//! see them listed, revoke one.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::bootstrap::WithBootstrap;
use super::dashboard::TopBar;
use super::widget::Widget;
use super::{ErrorNotice, iso_time};
use crate::api::{api_tokens, create_api_token, revoke_api_token};
use crate::model::{ApiScope, ApiToken, IssuedToken, MAX_API_TOKENS};

#[component]
pub fn TokensPage() -> impl IntoView {
    view! {
        <WithBootstrap>
            <div class="dashboard">
                <TopBar/>
                <main class="dashboard-main tokens">
                    <h1>"API tokens"</h1>
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
            <h2 id="new-token">"New token"</h2>
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
                <button type="submit" class="primary">"Make token"</button>
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
            <h2 id="your-tokens">"Your tokens"</h2>
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
