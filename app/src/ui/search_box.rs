//! "Search messages": a search box and its results, in `/chat`'s sidebar and in the
//! widget's list. Each result names its conversation and shows the text around the
//! match with the matched words in `<mark>`; choosing one opens the conversation at that
//! message (marked `aria-current="true"`, older history loaded as needed).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::search_messages;
use crate::model::ConversationId;
use crate::search::{SearchHit, SearchResults};
use crate::state::use_chat;

/// `on_open` is called with the conversation of a chosen result (after which the
/// conversation is shown at that message).
#[component]
pub fn SearchBox(on_open: Callback<(ConversationId, String)>) -> impl IntoView {
    let state = use_chat();
    let text = RwSignal::new(String::new());
    let results = RwSignal::new(None::<Result<SearchResults, String>>);
    let searching = RwSignal::new(false);
    let run = move || {
        let query = text.get_untracked();
        if query.trim().is_empty() {
            results.set(None);
            return;
        }
        searching.set(true);
        spawn_local(async move {
            results.set(Some(search_messages(query).await.map_err(|e| e.message)));
            searching.set(false);
        });
    };
    let open = move |hit: &SearchHit| {
        let (conversation, seq) = (hit.conversation_id, hit.message.seq);
        on_open.run((conversation, hit.conversation_slug.clone()));
        state.show_message(conversation, seq);
    };
    view! {
        <form class="search" role="search" on:submit=move |ev| { ev.prevent_default(); run(); }>
            <input
                type="search"
                aria-label="Search messages"
                placeholder="Search messages"
                prop:value=text
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    if text.with_untracked(|t| t.is_empty()) {
                        results.set(None);
                    }
                }
            />
        </form>
        <Show when=move || searching.get()>
            <p class="loading" role="status">"Searching…"</p>
        </Show>
        {move || results.get().map(|answer| match answer {
            Err(error) => view! { <p class="error-notice" role="alert">{error}</p> }.into_any(),
            Ok(found) => view! {
                <div class="search-results">
                    {(!found.ignored.is_empty()).then(|| view! {
                        <p class="muted search-note">{format!("Left out: {}", found.ignored.join("; "))}</p>
                    })}
                    {found.hits.is_empty().then(|| view! { <p class="muted search-note" role="status">"No messages found."</p> })}
                    <ul aria-label="Search results">
                        {found.hits.into_iter().map(|hit| {
                            let href = format!("/chat/{}", hit.conversation_slug);
                            let chosen = hit.clone();
                            view! {
                                <li>
                                    <a href=href on:click=move |ev| { ev.prevent_default(); open(&chosen); }>
                                        <span class="hit-where">{hit.conversation_title.clone()}" · "{hit.message.sender_name.clone()}</span>
                                        <span class="hit-text">
                                            {hit.snippet.into_iter().map(|(part, matched)| if matched {
                                                view! { <mark>{part}</mark> }.into_any()
                                            } else {
                                                part.into_any()
                                            }).collect_view()}
                                        </span>
                                    </a>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </div>
            }.into_any(),
        })}
    }
    .into_any()
}
