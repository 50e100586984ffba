//! The list `@` opens in the composer: the people who can see the conversation whose
//! name or username starts with what was typed, and `@channel`. Arrow keys move, Enter
//! or Tab choose, Escape closes; choosing writes `@username `.

use leptos::prelude::*;

use crate::model::{ConversationId, User};

/// One choice in the list: what it is called, and what choosing it writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MentionOption {
    pub label: String,
    pub insert: String,
}

/// Most choices shown at once.
const SHOWN: usize = 8;

/// The choices for `typed` among `people` (not `me`), best first.
pub fn mention_options(people: &[User], me: Option<&User>, typed: &str) -> Vec<MentionOption> {
    let typed = typed.to_lowercase();
    let mut options: Vec<MentionOption> = people
        .iter()
        .filter(|u| me.is_none_or(|me| me.id != u.id))
        .filter(|u| {
            u.username.to_lowercase().starts_with(&typed)
                || u.display_name
                    .to_lowercase()
                    .split_whitespace()
                    .any(|word| word.starts_with(&typed))
        })
        .map(|u| MentionOption {
            label: u.display_name.clone(),
            insert: format!("@{} ", u.username),
        })
        .take(SHOWN)
        .collect();
    if "channel".starts_with(&typed) {
        options.push(MentionOption {
            label: "@channel".into(),
            insert: "@channel ".into(),
        });
    }
    options
}

/// The listbox itself; `active` is the highlighted choice, `choose` is called with one.
#[component]
pub fn MentionList(
    conversation: ConversationId,
    options: Memo<Vec<MentionOption>>,
    active: RwSignal<usize>,
    choose: Callback<MentionOption>,
) -> impl IntoView {
    let list_id = mention_list_id(conversation);
    view! {
        <ul class="mention-list" role="listbox" id=list_id aria-label="Mention someone">
            {move || {
                options
                    .get()
                    .into_iter()
                    .enumerate()
                    .map(|(n, option)| {
                        let selected = move || active.get() == n;
                        let label = option.label.clone();
                        view! {
                            <li
                                role="option"
                                id=mention_option_id(conversation, n)
                                class:active=selected
                                aria-selected=move || if selected() { "true" } else { "false" }
                                // Keep the focus in the composer.
                                on:mousedown=move |ev| ev.prevent_default()
                                on:click=move |_| choose.run(option.clone())
                            >
                                {label}
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}

pub fn mention_list_id(conversation: ConversationId) -> String {
    format!("mentions-{conversation}")
}

pub fn mention_option_id(conversation: ConversationId, n: usize) -> String {
    format!("mentions-{conversation}-{n}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrganisationId, Role, UserId};

    fn user(id: i64, username: &str, name: &str) -> User {
        User {
            id: UserId(id),
            username: username.into(),
            display_name: name.into(),
            role: Role::Member,
            organisation_id: OrganisationId(1),
            organisation_name: "Axiom".into(),
        }
    }

    #[test]
    fn options_match_usernames_and_name_words_but_not_me() {
        let people = [
            user(1, "alice", "Alice Adams"),
            user(2, "bob", "Bob Baker"),
            user(3, "carol", "Carol Chen"),
        ];
        let labels = |typed: &str| {
            mention_options(&people, Some(&people[0]), typed)
                .into_iter()
                .map(|o| o.label)
                .collect::<Vec<_>>()
        };
        assert_eq!(labels("b"), ["Bob Baker"]);
        assert_eq!(labels("CH"), ["Carol Chen", "@channel"]);
        assert_eq!(labels("a"), Vec::<String>::new(), "not me");
        assert_eq!(labels(""), ["Bob Baker", "Carol Chen", "@channel"]);
        assert_eq!(mention_options(&people, None, "car")[0].insert, "@carol ");
    }
}
