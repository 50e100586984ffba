//! The "Members" panel of `/chat`: everyone who can see the conversation, with their
//! presence in words. Rendered with the page; presence fills in once the live
//! connection reports it.

use leptos::prelude::*;

use crate::api::list_members;
use crate::model::{ConversationId, Presence, User};
use crate::state::use_chat;

#[component]
pub fn MembersPanel(conversation: ConversationId) -> impl IntoView {
    let state = use_chat();
    // Loaded again when whom the conversation admits changes (people added to a group,
    // a channel's organisations or roles changed).
    let members = Resource::new(
        move || {
            (
                conversation,
                state.conversation(conversation).map(|c| c.audience),
            )
        },
        |(conversation, _)| list_members(conversation),
    );
    view! {
        <aside class="members" aria-label="Members">
            <h2>"Members"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading members…"</p> }>
                {move || Suspend::new(async move {
                    match members.await {
                        Ok(list) => view! {
                            <ul>{list.into_iter().map(|user| view! { <MemberItem user/> }).collect_view()}</ul>
                        }
                        .into_any(),
                        Err(error) => view! { <p class="error-notice" role="alert">{error.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </aside>
    }
    .into_any()
}

#[component]
fn MemberItem(user: User) -> impl IntoView {
    let state = use_chat();
    let id = user.id;
    let presence = move || state.presence_of(id);
    let word = move || match presence() {
        Presence::Online => "online",
        Presence::Away => "away",
        Presence::Offline => "offline",
    };
    view! {
        <li class="member">
            <span class=move || format!("presence {}", word()) aria-hidden="true"></span>
            <span class="member-name">{user.display_name}</span>
            <span class="member-presence">{word}</span>
        </li>
    }
}
