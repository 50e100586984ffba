//! A conversation's message pane and composer. The latest page of history comes with
//! the first paint; older pages load as the user scrolls up; new messages arrive over
//! the live connection into [`ChatState`](crate::state::ChatState).

use leptos::html::Div;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::ErrorNotice;
use super::composer::Composer;
use super::message::{MessageItem, OutgoingItem, article_id};
use super::order_context::OrderContext;
use crate::api::list_history;
use crate::model::{ConversationId, Seq};
use crate::state::use_chat;

/// How close to the top (in pixels) scrolling must come before the older page loads.
const LOAD_OLDER_WITHIN_PX: i32 = 48;
/// How close to the bottom counts as "reading the newest", so new messages scroll in.
const STICK_TO_BOTTOM_WITHIN_PX: i32 = 80;
/// Messages of one sender this close together are shown as one group.
const GROUP_WITHIN_MS: i64 = 5 * 60_000;
/// "Seen by" is shown under this many of the newest messages at most.
const SEEN_BY_RECENT: i64 = 20;

#[component]
pub fn Thread(conversation: ConversationId) -> impl IntoView {
    let state = use_chat();
    let page = OnceResource::new(list_history(conversation, None));

    Effect::new(move |_| {
        state.viewing.set(Some(conversation));
    });
    on_cleanup(move || {
        if state.viewing.get_untracked() == Some(conversation) {
            state.viewing.set(None);
        }
    });
    // When this conversation went stale, fetch its latest page again.
    Effect::new(move |previous: Option<u32>| {
        let round = state.resync.get();
        if previous.is_some_and(|p| p != round) {
            spawn_local(async move {
                if let Ok(page) = list_history(conversation, None).await {
                    state.merge_page(conversation, &page.messages, page.next_before);
                    state.merge_seen_by(conversation, &page.seen_by);
                    state.mark_read(conversation);
                }
            });
        }
        round
    });

    view! {
        <section class="thread">
            <OrderContext conversation/>
            <Suspense fallback=|| view! { <p class="loading">"Loading messages…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => {
                            // Untracked: the state read while merging must not make this
                            // view run again (on the server that disposed the log being
                            // written: "accessed a disposed reactive value").
                            untrack(|| {
                                state.merge_page(conversation, &page.messages, page.next_before);
                                state.merge_seen_by(conversation, &page.seen_by);
                            });
                            view! { <Log conversation/> }.into_any()
                        }
                        Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    }
                })}
            </Suspense>
            <TypingLine conversation/>
            <Show
                // Who may post is the rules' answer, as on the server.
                when=move || {
                    let audience = state.conversation(conversation).map(|c| c.audience);
                    state.me.with(|me| match (me, audience) {
                        (Some(me), Some(audience)) => crate::rules::can(
                            &crate::rules::Actor::from(me),
                            &audience,
                            crate::rules::Action::Post,
                        ),
                        // Not known yet: the composer shows, the server decides.
                        _ => true,
                    })
                }
                fallback=|| view! {
                    <p class="archived-note">"This channel is archived: its history can be read, nothing added."</p>
                }
            >
                <Composer conversation/>
            </Show>
        </section>
    }
    .into_any()
}

#[component]
fn Log(conversation: ConversationId) -> impl IntoView {
    let state = use_chat();
    let title = move || {
        state
            .conversation(conversation)
            .map(|c| c.title)
            .unwrap_or_default()
    };
    let messages = Memo::new(move |_| state.thread(conversation));
    let outgoing = Memo::new(move |_| state.outgoing_in(conversation));
    let cursor = move || {
        state
            .older_cursor
            .with(|c| c.get(&conversation).copied().flatten())
    };
    let newest = Memo::new(move |_| messages.with(|m| m.last().map_or(0, |m| m.seq)));
    // Per message: whether a new day starts with it (a date separator goes above), and
    // whether it follows the same sender's message within a few minutes (grouped).
    let layout = Memo::new(move |_| {
        let local = state.hydrated.get();
        messages.with(|all| {
            let mut out = std::collections::HashMap::new();
            let mut previous: Option<&crate::model::Message> = None;
            for m in all {
                let new_day = previous.is_none_or(|p| {
                    super::day_of(p.created_at_ms, local) != super::day_of(m.created_at_ms, local)
                });
                let continued = !new_day
                    && previous.is_some_and(|p| {
                        p.sender_id == m.sender_id
                            && !p.deleted
                            && m.reply_to.is_none()
                            && m.created_at_ms - p.created_at_ms < GROUP_WITHIN_MS
                    });
                out.insert(m.seq, (new_day, continued));
                previous = Some(m);
            }
            out
        })
    });
    let log = NodeRef::<Div>::new();
    let loading = RwSignal::new(false);
    let stick = StoredValue::new(true);

    let load_older = move || {
        let (Some(before), Some(el)) = (cursor(), log.get_untracked()) else {
            return;
        };
        if loading.get_untracked() {
            return;
        }
        loading.set(true);
        let from_bottom = el.scroll_height() - el.scroll_top();
        spawn_local(async move {
            if let Ok(page) = list_history(conversation, Some(before)).await {
                state.merge_page(conversation, &page.messages, page.next_before);
                // Keep the message the user was looking at where it was.
                request_animation_frame(move || {
                    el.set_scroll_top(el.scroll_height() - from_bottom)
                });
            }
            loading.set(false);
        });
    };
    let on_scroll = move |_| {
        let Some(el) = log.get_untracked() else {
            return;
        };
        stick.set_value(
            el.scroll_height() - el.scroll_top() - el.client_height() < STICK_TO_BOTTOM_WITHIN_PX,
        );
        if el.scroll_top() < LOAD_OLDER_WITHIN_PX {
            load_older();
        }
    };
    // A message asked for (a reply's original): scroll to it and move focus there.
    Effect::new(move |_| {
        if let Some((c, seq)) = state.focus.get()
            && c == conversation
        {
            stick.set_value(false);
            request_animation_frame(move || {
                if let Some(el) = document().get_element_by_id(&article_id(conversation, seq)) {
                    el.scroll_into_view();
                    if let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
                        let _ = el.focus();
                    }
                }
            });
        }
    });
    // New messages: scroll to them if the user was reading the newest; count them read.
    Effect::new(move |_| {
        messages.track();
        outgoing.track();
        if stick.get_value()
            && let Some(el) = log.get_untracked()
        {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
        state.mark_read(conversation);
    });

    view! {
        <div class="log" role="log" aria-live="polite" aria-label=title node_ref=log on:scroll=on_scroll>
            {move || match cursor() {
                Some(_) => view! {
                    <button type="button" class="older" on:click=move |_| load_older() disabled=loading>
                        {move || if loading.get() { "Loading…" } else { "Load older messages" }}
                    </button>
                }.into_any(),
                None => view! { <p class="start">"This is the start of the conversation."</p> }.into_any(),
            }}
            <For
                each=move || messages.get()
                key=|m| m.id
                children=move |message| {
                    let seq = message.seq;
                    let ms = message.created_at_ms;
                    let new_day = move || layout.with(|l| l.get(&seq).is_some_and(|x| x.0));
                    let continued = Signal::derive(move || layout.with(|l| l.get(&seq).is_some_and(|x| x.1)));
                    let label = move || {
                        super::day_label(ms, js_now(state.hydrated.get()), state.hydrated.get())
                    };
                    view! {
                        <Show when=new_day>
                            <div class="day-separator" role="separator" aria-label=label><span>{label}</span></div>
                        </Show>
                        <MessageItem message continued/>
                        <SeenLine conversation seq newest/>
                    }
                }
            />
            <For each=move || outgoing.get() key=|o| (o.client_id, o.failed.is_some()) let:outgoing>
                <OutgoingItem outgoing/>
            </For>
        </div>
    }
}

/// "Carol Chen is typing…", announced politely to screen readers.
#[component]
fn TypingLine(conversation: ConversationId) -> impl IntoView {
    let state = use_chat();
    let text = move || {
        let names = state.typing_in(conversation);
        match names.as_slice() {
            [] => String::new(),
            [one] => format!("{one} is typing…"),
            [a, b] => format!("{a} and {b} are typing…"),
            [a, rest @ ..] => format!("{a} and {} others are typing…", rest.len()),
        }
    };
    view! { <p class="typing" role="status" aria-live="polite">{text}</p> }
}

/// "Seen by …" under the message up to which those people have read.
#[component]
fn SeenLine(conversation: ConversationId, seq: Seq, newest: Memo<Seq>) -> impl IntoView {
    let state = use_chat();
    let names = move || {
        let newest = newest.get();
        if seq + SEEN_BY_RECENT <= newest {
            return Vec::new();
        }
        state.seen_at(conversation, seq, newest)
    };
    view! {
        <Show when=move || !names().is_empty()>
            <p class="seen-by">{move || format!("Seen by {}", names().join(", "))}</p>
        </Show>
    }
}

/// Now, in the browser once hydrated (for "Today" and "Yesterday"); 0 before, when the
/// separators say only dates, the same on server and browser.
fn js_now(hydrated: bool) -> i64 {
    if hydrated {
        js_sys::Date::now() as i64
    } else {
        0
    }
}
