//! `/admin`, for administrators only (others get 403): users, channels (with "New
//! channel" and each channel's exports), settings (connection mode, edit window) and the
//! audit log. The server checks the role again on every call.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::ErrorNotice;
use super::bootstrap::WithBootstrap;
use super::dashboard::TopBar;
use super::widget::Widget;
use super::{clock, iso_time};
use crate::api::{
    change_channel, change_user, create_channel, create_user, get_admin_overview, reset_password,
    save_settings, set_connection_mode, set_user_disabled,
};
use crate::model::{
    AdminSettings, AuditEntry, ChannelSettings, ConnectionMode, ConversationId, ConversationKind,
    ConversationSummary, IssuedPassword, Organisation, OrganisationId, Role, SettingsBounds, User,
    UserId,
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
                <TopBar/>
                <main class="dashboard-main admin">
                    <h1>"Administration"</h1>
                    <Show when=is_admin fallback=refused>
                        <AdminSections/>
                    </Show>
                </main>
                <Widget/>
            </div>
        </WithBootstrap>
    }
}

#[component]
fn AdminSections() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_admin_overview());
    // Outside the part that reloads, so a password made is still shown after the reload.
    let issued = RwSignal::new(None::<Result<IssuedPassword, String>>);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! {
                        <section aria-labelledby="admin-users">
                            <h2 id="admin-users">"Users"</h2>
                            <Users users=o.users organisations=o.organisations.clone() disabled=o.disabled issued on_change=Callback::new(move |()| overview.refetch())/>
                        </section>
                        <section aria-labelledby="admin-channels">
                            <h2 id="admin-channels">"Channels"</h2>
                            <Channels organisations=o.organisations/>
                        </section>
                        <section aria-labelledby="admin-settings">
                            <h2 id="admin-settings">"Settings"</h2>
                            <ConnectionModeSetting mode=o.connection_mode/>
                            <SettingsForm settings=o.settings bounds=o.bounds/>
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

/// Everyone's account: "New user", and per person "Disable" / "Enable" and "Reset
/// password". A password made here is shown once.
#[component]
fn Users(
    users: Vec<User>,
    organisations: Vec<Organisation>,
    disabled: Vec<UserId>,
    issued: RwSignal<Option<Result<IssuedPassword, String>>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let state = use_chat();
    let me = state.me.with_untracked(|me| me.as_ref().map(|me| me.id));
    let creating = RwSignal::new(false);
    let changing = RwSignal::new(None::<User>);
    let orgs_for_change = organisations.clone();
    let toggle = move |id: UserId, disable: bool| {
        spawn_local(async move {
            match set_user_disabled(id, disable).await {
                Ok(()) => on_change.run(()),
                Err(e) => issued.set(Some(Err(e.message))),
            }
        });
    };
    let reset = move |id: UserId| {
        spawn_local(async move {
            issued.set(Some(reset_password(id).await.map_err(|e| e.message)));
        });
    };
    view! {
        <button type="button" class="secondary" on:click=move |_| creating.set(true)>"New user"</button>
        {move || issued.get().map(|i| match i {
            Ok(p) => view! {
                <p class="issued" role="status">
                    {format!("One-time password for {} ({}): ", p.user.display_name, p.user.username)}
                    <code>{p.password}</code>
                    " — shown once; their first sign-in chooses a new one."
                </p>
            }.into_any(),
            Err(e) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
        })}
        <div class="table-wrap">
            <table class="orders">
                <thead><tr><th>"Name"</th><th>"Username"</th><th>"Role"</th><th>"Organisation"</th><th>"Account"</th></tr></thead>
                <tbody>
                    {users.into_iter().map(|u| {
                        let id = u.id;
                        let off = disabled.contains(&id);
                        let name = u.display_name.clone();
                        let verb = if off { "Enable" } else { "Disable" };
                        let whole = u.clone();
                        view! {
                            <tr class:disabled=off>
                                <td>{u.display_name}</td>
                                <td>{u.username}</td>
                                <td>{u.role.as_str()}</td>
                                <td>{u.organisation_name}</td>
                                <td class="account-actions">
                                    {(Some(id) != me).then(|| view! {
                                        <button type="button" class="secondary" aria-label=format!("{verb} {name}")
                                            on:click=move |_| toggle(id, !off)>{verb}</button>
                                        <button type="button" class="secondary" aria-label=format!("Reset password of {name}")
                                            on:click=move |_| reset(id)>"Reset password"</button>
                                        <button type="button" class="secondary" aria-label=format!("Change role of {name}")
                                            on:click=move |_| changing.set(Some(whole.clone()))>"Change role"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <Show when=move || creating.get()>
            <NewUser organisations=organisations.clone() creating issued on_change/>
        </Show>
        {move || changing.get().map(|user| view! {
            <ChangeRole user organisations=orgs_for_change.clone() changing issued on_change/>
        })}
    }
    .into_any()
}

/// A role and an organisation to choose, starting at the signals' values.
#[component]
fn Placement(
    role: RwSignal<Role>,
    organisation: RwSignal<OrganisationId>,
    organisations: Vec<Organisation>,
) -> impl IntoView {
    let (current_role, current_org) = (role.get_untracked(), organisation.get_untracked());
    let hint = |r: Role| match r {
        Role::Admin => "admin (staff)",
        Role::Member => "member (staff)",
        Role::Guest => "guest (client or manufacturer)",
    };
    view! {
        <label class="field">"Role"
            <select aria-label="Role" on:change=move |ev| {
                if let Some(r) = Role::parse(&event_target_value(&ev)) { role.set(r); }
            }>
                {Role::ALL.into_iter().map(|r| view! {
                    <option value=r.as_str() selected=r == current_role>{hint(r)}</option>
                }).collect_view()}
            </select>
        </label>
        <label class="field">"Organisation"
            <select aria-label="Organisation" on:change=move |ev| {
                if let Ok(id) = event_target_value(&ev).parse::<i64>() { organisation.set(OrganisationId(id)); }
            }>
                {organisations.into_iter().map(|o| view! {
                    <option value=o.id.0.to_string() selected=o.id == current_org>{format!("{} ({})", o.name, o.kind)}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// The "Change role" dialog: another role and organisation for someone. Their sessions
/// end, so they sign in again into what the new role admits.
#[component]
fn ChangeRole(
    user: User,
    organisations: Vec<Organisation>,
    changing: RwSignal<Option<User>>,
    issued: RwSignal<Option<Result<IssuedPassword, String>>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let role = RwSignal::new(user.role);
    let organisation = RwSignal::new(user.organisation_id);
    let problem = RwSignal::new(None::<String>);
    let id = user.id;
    let save = move || {
        let (r, o) = (role.get_untracked(), organisation.get_untracked());
        spawn_local(async move {
            match change_user(id, r, o).await {
                Ok(()) => {
                    issued.set(None);
                    changing.set(None);
                    on_change.run(());
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="dialog" role="dialog" aria-modal="true" aria-label="Change role" on:keydown=move |ev: leptos::ev::KeyboardEvent| super::dialog_keys(&ev, || changing.set(None))>
            <form on:submit=move |ev| { ev.prevent_default(); save(); }>
                <h2>{format!("Change role of {}", user.display_name)}</h2>
                <Placement role organisation organisations/>
                <p class="muted">"They are signed out everywhere and sign in again with the new role."</p>
                {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
                <div class="dialog-buttons">
                    <button type="submit" class="primary">"Save"</button>
                    <button type="button" class="secondary" on:click=move |_| changing.set(None)>"Cancel"</button>
                </div>
            </form>
        </div>
    }
    .into_any()
}

/// The "New user" dialog.
#[component]
fn NewUser(
    organisations: Vec<Organisation>,
    creating: RwSignal<bool>,
    issued: RwSignal<Option<Result<IssuedPassword, String>>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Guest);
    let organisation = RwSignal::new(organisations.first().map(|o| o.id).unwrap_or_default());
    let problem = RwSignal::new(None::<String>);
    let create = move || {
        let (u, d, r, o) = (
            username.get_untracked(),
            display_name.get_untracked(),
            role.get_untracked(),
            organisation.get_untracked(),
        );
        spawn_local(async move {
            match create_user(u, d, r, o).await {
                Ok(p) => {
                    issued.set(Some(Ok(p)));
                    creating.set(false);
                    on_change.run(());
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    view! {
        <div class="dialog" role="dialog" aria-modal="true" aria-label="New user" on:keydown=move |ev: leptos::ev::KeyboardEvent| super::dialog_keys(&ev, || creating.set(false))>
            <form on:submit=move |ev| { ev.prevent_default(); create(); }>
                <h2>"New user"</h2>
                <label class="field">"Username"
                    <input type="text" aria-label="Username" maxlength="64" prop:value=username
                        on:input=move |ev| username.set(event_target_value(&ev))/>
                </label>
                <label class="field">"Display name"
                    <input type="text" aria-label="Display name" maxlength=crate::model::MAX_DISPLAY_NAME_CHARS prop:value=display_name
                        on:input=move |ev| display_name.set(event_target_value(&ev))/>
                </label>
                <Placement role organisation organisations/>
                {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
                <div class="dialog-buttons">
                    <button type="submit" class="primary">"Create user"</button>
                    <button type="button" class="secondary" on:click=move |_| creating.set(false)>"Cancel"</button>
                </div>
            </form>
        </div>
    }
}

/// Every channel with whom it admits and its exports, "New channel", and per channel
/// "Edit channel" (rename, archive, whom it admits).
#[component]
fn Channels(organisations: Vec<Organisation>) -> impl IntoView {
    let state = use_chat();
    // Live, like everyone's conversation list: a channel made, renamed or re-scoped
    // (here, in another tab or by another admin) shows at once.
    let channels = move || {
        let mut channels = state.conversations.with(|all| {
            all.iter()
                .filter(|c| c.kind == ConversationKind::Channel)
                .cloned()
                .collect::<Vec<_>>()
        });
        channels.sort_by(|a, b| a.title.cmp(&b.title));
        channels
    };
    let names = organisations.clone();
    let admits = move |c: &ConversationSummary| {
        let orgs = c
            .audience
            .organisations
            .iter()
            .filter_map(|id| names.iter().find(|o| o.id == *id).map(|o| o.name.clone()))
            .collect::<Vec<_>>()
            .join(", ");
        let roles = c
            .audience
            .roles
            .iter()
            .map(|r| format!("{}s", r.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        format!("{orgs} ({roles})")
    };
    // The channel being edited (its id and settings), or a new one (`None` id).
    let editing = RwSignal::new(None::<(Option<ConversationId>, ChannelSettings)>);
    let fresh = ChannelSettings {
        name: String::new(),
        organisations: vec![],
        roles: Role::ALL.to_vec(),
        archived: false,
    };
    view! {
        <button type="button" class="secondary" on:click=move |_| editing.set(Some((None, fresh.clone())))>"New channel"</button>
        <ul class="admin-channels">
            {move || channels().into_iter().map(|c| {
                let who = admits(&c);
                let settings = ChannelSettings {
                    name: c.title.trim_start_matches('#').to_string(),
                    organisations: c.audience.organisations.clone(),
                    roles: c.audience.roles.clone(),
                    archived: c.audience.archived,
                };
                let id = c.id;
                let title = c.title.clone();
                view! {
                    <li class:archived=c.audience.archived>
                        <a href=format!("/chat/{}", c.slug)>{c.title.clone()}</a>
                        {c.audience.archived.then(|| view! { <span class="tag">"archived"</span> })}
                        <span class="muted">{format!(" · {who}")}</span>
                        <button type="button" class="secondary small" aria-label=format!("Edit channel {title}")
                            on:click=move |_| editing.set(Some((Some(id), settings.clone())))>"Edit channel"</button>
                        <ExportLinks conversation=c.id/>
                    </li>
                }
            }).collect_view()}
        </ul>
        {move || editing.get().map(|(id, settings)| view! {
            <ChannelDialog id settings organisations=organisations.clone() editing/>
        })}
    }
    .into_any()
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

/// The "New channel" dialog (no `id`) or "Edit channel" dialog: a name, the
/// organisations and roles it admits, and (editing) whether it is archived.
#[component]
fn ChannelDialog(
    id: Option<ConversationId>,
    settings: ChannelSettings,
    organisations: Vec<Organisation>,
    editing: RwSignal<Option<(Option<ConversationId>, ChannelSettings)>>,
) -> impl IntoView {
    let name = RwSignal::new(settings.name.clone());
    let chosen = RwSignal::new(
        settings
            .organisations
            .iter()
            .copied()
            .collect::<BTreeSet<OrganisationId>>(),
    );
    let roles = RwSignal::new(settings.roles.clone());
    let archived = RwSignal::new(settings.archived);
    let problem = RwSignal::new(None::<String>);
    let close = move || editing.set(None);
    let save = move || {
        let wanted = ChannelSettings {
            name: name.get_untracked(),
            organisations: chosen.get_untracked().into_iter().collect(),
            roles: roles.get_untracked(),
            archived: archived.get_untracked(),
        };
        spawn_local(async move {
            let done = match id {
                None => create_channel(wanted.name, wanted.organisations, Some(wanted.roles)).await,
                Some(id) => change_channel(id, wanted).await,
            };
            match done {
                // The list follows from the `conversation` event the change sends.
                Ok(_) => close(),
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    let (label, button) = match id {
        None => ("New channel", "Create channel"),
        Some(_) => ("Edit channel", "Save channel"),
    };
    view! {
        <div class="dialog" role="dialog" aria-modal="true" aria-label=label on:keydown=move |ev: leptos::ev::KeyboardEvent| super::dialog_keys(&ev, || close())>
            <form on:submit=move |ev| { ev.prevent_default(); save(); }>
                <h2>{label}</h2>
                <label class="field">
                    "Name (lower-case letters, digits, hyphens)"
                    <input type="text" aria-label="Channel name" maxlength="80" prop:value=name
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <p class="muted">"Who it admits: people of a chosen organisation with a chosen role (administrators see every channel):"</p>
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
                <ul class="people-choice">
                    {Role::ALL.into_iter().map(|role| view! {
                        <li><label>
                            <input type="checkbox"
                                prop:checked=move || roles.with(|r| r.contains(&role))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    roles.update(|r| {
                                        r.retain(|x| *x != role);
                                        if on { r.push(role); }
                                    });
                                }/>
                            {format!("{}s", role.as_str())}
                        </label></li>
                    }).collect_view()}
                </ul>
                {id.is_some().then(|| view! {
                    <label class="choice">
                        <input type="checkbox" prop:checked=archived
                            on:change=move |ev| archived.set(event_target_checked(&ev))/>
                        <span>"Archived"<span class="muted">" — read-only: its history stays, nothing can be added"</span></span>
                    </label>
                })}
                {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
                <div class="dialog-buttons">
                    <button type="submit" class="primary">{button}</button>
                    <button type="button" class="secondary" on:click=move |_| close()>"Cancel"</button>
                </div>
            </form>
        </div>
    }
    .into_any()
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

const MB: u64 = 1024 * 1024;

/// The edit window, message length, attachment limits and retention, within the
/// operator's limits.
#[component]
fn SettingsForm(settings: AdminSettings, bounds: SettingsBounds) -> impl IntoView {
    let minutes = RwSignal::new((settings.edit_window_secs / 60).to_string());
    let chars = RwSignal::new(settings.max_message_chars.to_string());
    let megabytes = RwSignal::new(format!(
        "{:.1}",
        settings.max_attachment_bytes as f64 / MB as f64
    ));
    let types = RwSignal::new(settings.attachment_types.clone());
    let days = RwSignal::new(
        settings
            .retention_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    let status = RwSignal::new(None::<Result<(), String>>);
    let ready = super::hydrated_here();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let number = |s: RwSignal<String>, what: &str| {
            s.get_untracked()
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("Write a number for {what}."))
        };
        let wanted = (|| -> Result<AdminSettings, String> {
            let retention = days.get_untracked();
            Ok(AdminSettings {
                edit_window_secs: (number(minutes, "the edit window")? * 60.0) as i64,
                max_message_chars: number(chars, "the message length")? as usize,
                max_attachment_bytes: (number(megabytes, "the attachment size")? * MB as f64)
                    as u64,
                attachment_types: types.get_untracked(),
                retention_days: match retention.trim() {
                    "" => None,
                    d => Some(d.parse::<u32>().map_err(|_| {
                        "Write a number of days, or nothing to keep every message.".to_string()
                    })?),
                },
            })
        })();
        match wanted {
            Ok(wanted) => spawn_local(async move {
                status.set(Some(save_settings(wanted).await.map_err(|e| e.message)));
            }),
            Err(e) => status.set(Some(Err(e))),
        }
    };
    let number_field = move |signal: RwSignal<String>, label: &'static str, hint: String| {
        view! {
            <label class="choice">
                <input type="number" min="0" step="any" aria-label=label value=signal.get_untracked() prop:value=signal
                    on:input=move |ev| signal.set(event_target_value(&ev))/>
                <span>{hint}</span>
            </label>
        }
    };
    view! {
        <form class="settings" aria-label="Messages and files" on:submit=save>
            <fieldset>
                <legend>"Messages"</legend>
                {number_field(minutes, "Edit window in minutes", "minutes after sending, authors may edit a message (0: never)".into())}
                {number_field(chars, "Longest message in characters", format!("characters at most in a message (up to {})", bounds.max_message_chars))}
                <label class="choice">
                    <input type="number" min="1" aria-label="Keep messages for days" placeholder="for ever" value=days.get_untracked() prop:value=days
                        on:input=move |ev| days.set(event_target_value(&ev))/>
                    <span>"days messages are kept (empty: for ever); older ones are deleted for good, with their files"</span>
                </label>
            </fieldset>
            <fieldset>
                <legend>"Attachments"</legend>
                {number_field(megabytes, "Largest attachment in megabytes", format!("MB at most per file (up to {:.1})", bounds.max_attachment_bytes as f64 / MB as f64))}
                <ul class="people-choice">
                    {bounds.attachment_types.into_iter().map(|t| {
                        let kind = t.clone();
                        view! {
                            <li><label>
                                <input type="checkbox"
                                    checked=types.with_untracked(|ts| ts.contains(&kind))
                                    prop:checked={let kind = kind.clone(); move || types.with(|ts| ts.contains(&kind))}
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let kind = kind.clone();
                                        types.update(|ts| {
                                            ts.retain(|x| *x != kind);
                                            if on { ts.push(kind); }
                                        });
                                    }/>
                                {t}
                            </label></li>
                        }
                    }).collect_view()}
                </ul>
            </fieldset>
            <button type="submit" class="primary" disabled=move || !ready.get()>"Save"</button>
            {move || status.get().map(|s| match s {
                Ok(()) => view! { <p role="status">"Saved."</p> }.into_any(),
                Err(e) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
            })}
        </form>
    }
    .into_any()
}

/// The connection mode's choice. Its current value comes with the rest of the page's data,
/// not from a `<Suspense>` of its own: a suspense nested in another hydrated out of step
/// now and then (one page load in a few dozen panicked on a missing marker).
#[component]
fn ConnectionModeSetting(mode: ConnectionMode) -> impl IntoView {
    let chosen = RwSignal::new(mode);
    let status = RwSignal::new(None::<Result<(), String>>);
    let ready = super::hydrated_here();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mode = chosen.get_untracked();
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
                    checked=move || chosen.get() == mode
                    prop:checked=move || chosen.get() == mode
                    on:change=move |_| chosen.set(mode)
                />
                <span>{label}<span class="muted">{(!hint.is_empty()).then(|| format!(" — {hint}"))}</span></span>
            </label>
        }
    };
    view! {
        <form class="settings" aria-label="Connection mode" on:submit=save>
            <fieldset>
                <legend>"Connection mode"</legend>
                {option(ConnectionMode::Auto, "Automatic", "WebSocket, falling back to Server-Sent Events when it cannot open")}
                {option(ConnectionMode::WebSocket, "WebSocket only", "no fallback: where WebSockets are blocked, chat stays offline")}
                {option(ConnectionMode::Sse, "Server-Sent Events", "for networks that block WebSockets")}
            </fieldset>
            <button type="submit" class="primary" disabled=move || !ready.get()>"Save"</button>
            {move || status.get().map(|s| match s {
                Ok(()) => view! { <p role="status">"Saved. Pages opened from now on use it."</p> }.into_any(),
                Err(e) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
            })}
        </form>
    }
}
