//! "New message": pick a person, open (or create) the direct conversation with them.
//! The list holds only people the rules let this user message.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{list_people, open_direct};
use crate::model::{ConversationSummary, Person};
use crate::state::use_chat;

#[component]
pub fn PeoplePicker(on_open: Callback<ConversationSummary>) -> impl IntoView {
    let state = use_chat();
    let open = RwSignal::new(false);
    let people = RwSignal::new(None::<Result<Vec<Person>, String>>);
    let toggle = move |_| {
        let now_open = !open.get_untracked();
        open.set(now_open);
        if now_open {
            spawn_local(async move {
                people.set(Some(list_people().await.map_err(|e| e.message)));
            });
        }
    };
    let pick = move |person: Person| {
        spawn_local(async move {
            match open_direct(person.id).await {
                Ok(conversation) => {
                    state.upsert_conversation(conversation.clone());
                    open.set(false);
                    on_open.run(conversation);
                }
                Err(e) => people.set(Some(Err(e.message))),
            }
        });
    };
    view! {
        <div class="people-picker">
            <button type="button" class="secondary" aria-expanded=move || open.get().to_string() on:click=toggle>
                "New message"
            </button>
            <Show when=move || open.get()>
                <div class="people" role="group" aria-label="People">
                    {move || match people.get() {
                        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error-notice" role="alert">{e}</p> }.into_any(),
                        Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"Nobody to message yet."</p> }.into_any(),
                        Some(Ok(list)) => list.into_iter().map(|person| {
                            let label = person.display_name.clone();
                            let org = person.organisation_name.clone();
                            view! {
                                <button type="button" class="person" on:click=move |_| pick(person.clone())>
                                    {label}<span class="muted">{format!(" · {org}")}</span>
                                </button>
                            }
                        }).collect_view().into_any(),
                    }}
                </div>
            </Show>
        </div>
    }
}
