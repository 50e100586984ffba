//! Groups in the UI: "New group" (a dialog with an optional "Group name" and a checkbox
//! per person, then "Create group"), and in a group's header "Add people" and "Leave
//! group". What each user is offered comes from [`crate::rules`]; the server checks again.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{add_to_group, create_group, leave_group, list_people};
use crate::model::{ConversationId, ConversationKind, ConversationSummary, Person, UserId};
use crate::rules::{self, Actor, GROUP_MAX, GROUP_MIN};
use crate::state::use_chat;

/// People to choose from, checkboxes for them, and what was chosen.
#[component]
fn PeopleChoice(
    people: Vec<Person>,
    chosen: RwSignal<BTreeSet<UserId>>,
    #[prop(optional)] exclude: Vec<UserId>,
) -> impl IntoView {
    let shown: Vec<Person> = people
        .into_iter()
        .filter(|p| !exclude.contains(&p.id))
        .collect();
    if shown.is_empty() {
        return view! { <p class="muted">"Nobody else to add."</p> }.into_any();
    }
    view! {
        <ul class="people-choice">
            {shown.into_iter().map(|person| {
                let id = person.id;
                view! {
                    <li>
                        <label>
                            <input
                                type="checkbox"
                                prop:checked=move || chosen.with(|c| c.contains(&id))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| { if on { c.insert(id); } else { c.remove(&id); } });
                                }
                            />
                            {person.display_name}
                            <span class="muted">{format!(" · {}", person.organisation_name)}</span>
                        </label>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// "New group", for those the rules let start one.
#[component]
pub fn NewGroup(on_open: Callback<ConversationSummary>) -> impl IntoView {
    let state = use_chat();
    let allowed = move || {
        state.hydrated.get()
            && state.me.with(|me| {
                me.as_ref()
                    .is_some_and(|me| rules::can_start_group(&Actor::from(me)))
            })
    };
    let open = RwSignal::new(false);
    let people = RwSignal::new(None::<Result<Vec<Person>, String>>);
    let chosen = RwSignal::new(BTreeSet::<UserId>::new());
    let name = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let show = move |_| {
        open.set(true);
        chosen.set(BTreeSet::new());
        name.set(String::new());
        problem.set(None);
        spawn_local(async move {
            people.set(Some(list_people().await.map_err(|e| e.message)));
        });
    };
    let create = move || {
        let members: Vec<UserId> = chosen.get_untracked().into_iter().collect();
        let given = name.get_untracked();
        let given = (!given.trim().is_empty()).then_some(given);
        spawn_local(async move {
            match create_group(members, given).await {
                Ok(group) => {
                    state.upsert_conversation(group.clone());
                    open.set(false);
                    on_open.run(group);
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    view! {
        <Show when=allowed>
            <div class="new-group">
                <button type="button" class="secondary" on:click=show>"New group"</button>
            </div>
        </Show>
        <Show when=move || open.get()>
            <div class="dialog" role="dialog" aria-modal="true" aria-label="New group" on:keydown=move |ev: leptos::ev::KeyboardEvent| super::dialog_keys(&ev, || open.set(false))>
                <form on:submit=move |ev| { ev.prevent_default(); create(); }>
                    <h2>"New group"</h2>
                    <label class="field">
                        "Group name (optional)"
                        <input type="text" aria-label="Group name" maxlength="80" prop:value=name
                            on:input=move |ev| name.set(event_target_value(&ev))/>
                    </label>
                    <p class="muted">{format!("Choose {} to {} people.", GROUP_MIN - 1, GROUP_MAX - 1)}</p>
                    {move || match people.get() {
                        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
                        Some(Ok(list)) => view! { <PeopleChoice people=list chosen/> }.into_any(),
                    }}
                    {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
                    <div class="dialog-buttons">
                        <button type="submit" class="primary">"Create group"</button>
                        <button type="button" class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                    </div>
                </form>
            </div>
        </Show>
    }
    .into_any()
}

/// "Add people" and "Leave group" in a group's header; `on_left` runs after leaving.
#[component]
pub fn GroupActions(conversation: ConversationId, on_left: Callback<()>) -> impl IntoView {
    let state = use_chat();
    let summary = Memo::new(move |_| state.conversation(conversation));
    let is_group = move || {
        summary.with(|c| {
            c.as_ref()
                .is_some_and(|c| c.kind == ConversationKind::Group)
        })
    };
    let me = move || state.me.with(|me| me.as_ref().map(Actor::from));
    let may_add = move || {
        state.hydrated.get()
            && summary.with(|c| {
                c.as_ref()
                    .zip(me())
                    .is_some_and(|(c, me)| rules::can_add_to_group(&me, &c.audience))
            })
    };
    let may_leave = move || {
        state.hydrated.get()
            && summary.with(|c| {
                c.as_ref()
                    .zip(me())
                    .is_some_and(|(c, me)| rules::can_leave(&me, &c.audience))
            })
    };
    let adding = RwSignal::new(false);
    let leaving = RwSignal::new(false);
    let people = RwSignal::new(None::<Result<Vec<Person>, String>>);
    let chosen = RwSignal::new(BTreeSet::<UserId>::new());
    let problem = RwSignal::new(None::<String>);
    let show_add = move |_| {
        adding.set(true);
        chosen.set(BTreeSet::new());
        problem.set(None);
        spawn_local(async move {
            people.set(Some(list_people().await.map_err(|e| e.message)));
        });
    };
    let add = move || {
        let members: Vec<UserId> = chosen.get_untracked().into_iter().collect();
        spawn_local(async move {
            match add_to_group(conversation, members).await {
                Ok(group) => {
                    state.upsert_conversation(group);
                    adding.set(false);
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    let leave = move |_| {
        spawn_local(async move {
            match leave_group(conversation).await {
                Ok(()) => {
                    leaving.set(false);
                    on_left.run(());
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    view! {
        <Show when=is_group>
            <div class="group-actions">
                <Show when=may_add>
                    <button type="button" class="secondary" on:click=show_add>"Add people"</button>
                </Show>
                <Show when=may_leave>
                    <button type="button" class="secondary" on:click=move |_| leaving.set(true)>"Leave group"</button>
                </Show>
            </div>
        </Show>
        <Show when=move || adding.get()>
            <div class="dialog" role="dialog" aria-modal="true" aria-label="Add people" on:keydown=move |ev: leptos::ev::KeyboardEvent| super::dialog_keys(&ev, || adding.set(false))>
                <form on:submit=move |ev| { ev.prevent_default(); add(); }>
                    <h2>"Add people"</h2>
                    {move || match people.get() {
                        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
                        Some(Ok(list)) => {
                            let exclude = summary.with_untracked(|c| c.as_ref().map(|c| c.audience.members.clone()).unwrap_or_default());
                            view! { <PeopleChoice people=list chosen exclude/> }.into_any()
                        }
                    }}
                    {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
                    <div class="dialog-buttons">
                        <button type="submit" class="primary">"Add"</button>
                        <button type="button" class="secondary" on:click=move |_| adding.set(false)>"Cancel"</button>
                    </div>
                </form>
            </div>
        </Show>
        <Show when=move || leaving.get()>
            <div class="dialog" role="dialog" aria-modal="true" aria-label="Leave group?" on:keydown=move |ev: leptos::ev::KeyboardEvent| super::dialog_keys(&ev, || leaving.set(false))>
                <h2>"Leave this group?"</h2>
                <p>"You will stop receiving its messages."</p>
                {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
                <div class="dialog-buttons">
                    <button type="button" class="primary" on:click=leave>"Leave"</button>
                    <button type="button" class="secondary" on:click=move |_| leaving.set(false)>"Cancel"</button>
                </div>
            </div>
        </Show>
    }
    .into_any()
}
