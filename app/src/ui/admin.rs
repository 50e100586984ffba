//! `/admin`, for administrators only (others get 403): users, channels (with "New
//! channel" and each channel's exports), settings (connection mode, edit window) and the
//! audit log. The server checks the role again on every call.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::bootstrap::WithBootstrap;
use super::dashboard::Me;
use super::{ErrorNotice, SignOut};
use super::{clock, iso_time};
use crate::api::{
    create_channel, get_admin_overview, get_connection_mode, set_connection_mode, set_edit_window,
};
use crate::model::{
    AuditEntry, ConnectionMode, ConversationId, ConversationSummary, Organisation, OrganisationId,
    User,
};
use crate::rules::{self, Actor};
use crate::state::use_chat;

#[component]
pub fn AdminPage() -> impl IntoView {
    let state = use_chat();
    let is_admin = move || {
        state.me.with(|me| {
            me.as_ref()
                .is_some_and(|me| rules::can_administer(&Actor::from(me)))
        })
    };
    let refused = || {
        crate::api::respond_forbidden();
        view! { <p role="alert">"Only administrators can open this page."</p> }
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
                <main class="dashboard-main admin">
                    <h1>"Administration"</h1>
                    <Show when=is_admin fallback=refused>
                        <AdminSections/>
                    </Show>
                </main>
            </div>
        </WithBootstrap>
    }
}

#[component]
fn AdminSections() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_admin_overview());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! {
                        <section aria-labelledby="admin-users">
                            <h2 id="admin-users">"Users"</h2>
                            <UsersTable users=o.users/>
                        </section>
                        <section aria-labelledby="admin-channels">
                            <h2 id="admin-channels">"Channels"</h2>
                            <Channels channels=o.channels organisations=o.organisations on_change=Callback::new(move |()| overview.refetch())/>
                        </section>
                        <section aria-labelledby="admin-settings">
                            <h2 id="admin-settings">"Settings"</h2>
                            <ConnectionModeSetting/>
                            <EditWindowSetting secs=o.edit_window_secs/>
                        </section>
                        <section aria-labelledby="admin-audit">
                            <h2 id="admin-audit">"Audit log"</h2>
                            <AuditLog entries=o.audit/>
                        </section>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn UsersTable(users: Vec<User>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="orders">
                <thead><tr><th>"Name"</th><th>"Username"</th><th>"Role"</th><th>"Organisation"</th></tr></thead>
                <tbody>
                    {users.into_iter().map(|u| view! {
                        <tr>
                            <td>{u.display_name}</td>
                            <td>{u.username}</td>
                            <td>{u.role.as_str()}</td>
                            <td>{u.organisation_name}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Every channel with whom it admits and its exports, and "New channel".
#[component]
fn Channels(
    channels: Vec<ConversationSummary>,
    organisations: Vec<Organisation>,
    on_change: Callback<()>,
) -> impl IntoView {
    let names = organisations.clone();
    let admits = move |c: &ConversationSummary| {
        c.audience
            .organisations
            .iter()
            .filter_map(|id| names.iter().find(|o| o.id == *id).map(|o| o.name.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let creating = RwSignal::new(false);
    view! {
        <button type="button" class="secondary" on:click=move |_| creating.set(true)>"New channel"</button>
        <ul class="admin-channels">
            {channels.into_iter().map(|c| {
                let who = admits(&c);
                view! {
                    <li>
                        <a href=format!("/chat/{}", c.slug)>{c.title.clone()}</a>
                        <span class="muted">{format!(" · {who}")}</span>
                        <ExportLinks conversation=c.id/>
                    </li>
                }
            }).collect_view()}
        </ul>
        <Show when=move || creating.get()>
            <NewChannel organisations=organisations.clone() creating on_change/>
        </Show>
    }
}

/// "Export JSON" and "Export CSV" for one conversation (admins).
#[component]
pub fn ExportLinks(conversation: ConversationId) -> impl IntoView {
    view! {
        <span class="exports">
            <a href=format!("/admin/export/{conversation}?format=json") download="">"Export JSON"</a>
            <a href=format!("/admin/export/{conversation}?format=csv") download="">"Export CSV"</a>
        </span>
    }
}

/// The "New channel" dialog: a name and the organisations it admits.
#[component]
fn NewChannel(
    organisations: Vec<Organisation>,
    creating: RwSignal<bool>,
    on_change: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(BTreeSet::<OrganisationId>::new());
    let problem = RwSignal::new(None::<String>);
    let create = move || {
        let wanted = name.get_untracked();
        let admits: Vec<OrganisationId> = chosen.get_untracked().into_iter().collect();
        spawn_local(async move {
            match create_channel(wanted, admits).await {
                Ok(_) => {
                    creating.set(false);
                    on_change.run(());
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="dialog" role="dialog" aria-modal="true" aria-label="New channel">
            <form on:submit=move |ev| { ev.prevent_default(); create(); }>
                <h2>"New channel"</h2>
                <label class="field">
                    "Name (lower-case letters, digits, hyphens)"
                    <input type="text" aria-label="Channel name" maxlength="80" prop:value=name
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <p class="muted">"Who it admits (administrators see every channel):"</p>
                <ul class="people-choice">
                    {organisations.into_iter().map(|org| {
                        let id = org.id;
                        view! {
                            <li><label>
                                <input type="checkbox"
                                    prop:checked=move || chosen.with(|c| c.contains(&id))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| { if on { c.insert(id); } else { c.remove(&id); } });
                                    }/>
                                {org.name}
                                <span class="muted">{format!(" · {}", org.kind)}</span>
                            </label></li>
                        }
                    }).collect_view()}
                </ul>
                {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
                <div class="dialog-buttons">
                    <button type="submit" class="primary">"Create channel"</button>
                    <button type="button" class="secondary" on:click=move |_| creating.set(false)>"Cancel"</button>
                </div>
            </form>
        </div>
    }
}

#[component]
fn AuditLog(entries: Vec<AuditEntry>) -> impl IntoView {
    let state = use_chat();
    if entries.is_empty() {
        return view! { <p class="muted">"Nothing recorded yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="orders">
                <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Where"</th><th>"Whose"</th></tr></thead>
                <tbody>
                    {entries.into_iter().map(|e| {
                        let ms = e.at_ms;
                        view! {
                            <tr>
                                <td><time datetime=iso_time(ms)>{move || clock(ms, state.hydrated.get())}</time></td>
                                <td>{e.actor}</td>
                                <td>{e.action.replace('_', " ")}</td>
                                <td>{e.conversation.unwrap_or_default()}</td>
                                <td>{e.subject.unwrap_or_default()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// How long authors may edit their messages.
#[component]
fn EditWindowSetting(secs: i64) -> impl IntoView {
    let minutes = RwSignal::new((secs / 60).to_string());
    let status = RwSignal::new(None::<Result<(), String>>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(m) = minutes.get_untracked().trim().parse::<i64>() else {
            status.set(Some(Err("Write a number of minutes.".into())));
            return;
        };
        spawn_local(async move {
            status.set(Some(set_edit_window(m * 60).await.map_err(|e| e.message)));
        });
    };
    view! {
        <form class="settings" aria-label="Edit window" on:submit=save>
            <fieldset>
                <legend>"Edit window"</legend>
                <label class="choice">
                    <input type="number" min="0" aria-label="Edit window in minutes" value=minutes.get_untracked() prop:value=minutes
                        on:input=move |ev| minutes.set(event_target_value(&ev))/>
                    <span>"minutes after sending, authors may edit a message (0: never)"</span>
                </label>
            </fieldset>
            <button type="submit" class="primary">"Save"</button>
            {move || status.get().map(|s| match s {
                Ok(()) => view! { <p role="status">"Saved."</p> }.into_any(),
                Err(e) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
            })}
        </form>
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
                    checked=move || chosen.get() == Some(mode)
                    prop:checked=move || chosen.get() == Some(mode)
                    on:change=move |_| chosen.set(Some(mode))
                />
                <span>{label}<span class="muted">{(!hint.is_empty()).then(|| format!(" — {hint}"))}</span></span>
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
                            <form class="settings" aria-label="Connection mode" on:submit=save>
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
