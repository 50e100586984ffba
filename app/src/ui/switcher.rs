//! `Ctrl+K` / `Cmd+K`: a dialog "Jump to a conversation" with a combobox that filters the
//! conversation list as one types; `↑`/`↓` choose, `Enter` opens, `Esc` goes back to
//! where the keyboard was. Where it opens the conversation is the caller's (the widget
//! selects it, `/chat` navigates to it).

use leptos::html::Input;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::model::ConversationSummary;
use crate::state::use_chat;

/// How many conversations the switcher lists at once.
const SHOWN: usize = 8;

#[component]
pub fn QuickSwitcher(
    on_open: Callback<ConversationSummary>,
    /// Called as the switcher opens (the widget opens around it).
    #[prop(optional)]
    on_show: Option<Callback<()>>,
) -> impl IntoView {
    let state = use_chat();
    let open = RwSignal::new(false);
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let input = NodeRef::<Input>::new();
    // Where the keyboard was, to go back there when the switcher closes unused: marked
    // in the page (an element held in Rust would have to stay on the browser's thread).
    const RETURN_MARK: &str = "data-parley-return-focus";
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("k") {
                ev.prevent_default();
                if let Some(el) = document().active_element() {
                    let _ = el.set_attribute(RETURN_MARK, "");
                }
                query.set(String::new());
                active.set(0);
                open.set(true);
                if let Some(show) = on_show {
                    show.run(());
                }
            }
        });
        on_cleanup(move || handle.remove());
    });
    Effect::new(move |_| {
        if open.get()
            && let Some(el) = input.get()
        {
            request_animation_frame(move || {
                let _ = el.focus();
            });
        }
    });
    let found = Memo::new(move |_| {
        let q = query.get().trim().to_lowercase();
        state.conversations.with(|all| {
            all.iter()
                .filter(|c| q.is_empty() || c.title.to_lowercase().contains(&q))
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let close = move |restore: bool| {
        open.set(false);
        let marked = document()
            .query_selector(&format!("[{RETURN_MARK}]"))
            .ok()
            .flatten();
        if let Some(el) = marked {
            let _ = el.remove_attribute(RETURN_MARK);
            if restore && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        }
    };
    let choose = move |c: ConversationSummary| {
        close(false);
        on_open.run(c);
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let count = found.with_untracked(Vec::len).max(1);
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                active.update(|n| *n = (*n + 1) % count);
            }
            "ArrowUp" => {
                ev.prevent_default();
                active.update(|n| *n = (*n + count - 1) % count);
            }
            "Enter" => {
                ev.prevent_default();
                if let Some(c) = found.with_untracked(|f| f.get(active.get_untracked()).cloned()) {
                    choose(c);
                }
            }
            "Escape" => {
                // The switcher closes; a widget around it stays open.
                ev.prevent_default();
                ev.stop_propagation();
                close(true);
            }
            _ => {}
        }
    };
    view! {
        <Show when=move || open.get()>
            <div class="dialog quick-switcher" role="dialog" aria-modal="true" aria-label="Jump to a conversation"
                on:click=move |ev| if ev.target() == ev.current_target() { close(true) }>
                <form on:submit=move |ev| ev.prevent_default()>
                <input
                    node_ref=input
                    type="text"
                    role="combobox"
                    aria-label="Conversation"
                    aria-autocomplete="list"
                    aria-expanded="true"
                    aria-controls="quick-switcher-list"
                    aria-activedescendant=move || format!("quick-switcher-{}", active.get())
                    placeholder="Jump to a conversation…"
                    autocomplete="off"
                    prop:value=query
                    on:input=move |ev| { query.set(event_target_value(&ev)); active.set(0); }
                    on:keydown=on_keydown
                />
                <ul id="quick-switcher-list" role="listbox" aria-label="Conversations found">
                    {move || {
                        let list = found.get();
                        if list.is_empty() {
                            return view! { <li class="muted">"No conversation by that name"</li> }.into_any();
                        }
                        list.into_iter().enumerate().map(|(i, c)| {
                            let chosen = c.clone();
                            let unread = c.unread;
                            view! {
                                <li id=format!("quick-switcher-{i}") role="option"
                                    aria-selected=move || (active.get() == i).to_string()
                                    class:active=move || active.get() == i
                                    on:mousedown=move |ev| { ev.prevent_default(); choose(chosen.clone()); }>
                                    <span>{c.title.clone()}</span>
                                    {(unread > 0).then(|| view! { <span class="badge">{unread}<span class="visually-hidden">" unread"</span></span> })}
                                </li>
                            }
                        }).collect_view().into_any()
                    }}
                </ul>
                <p class="muted hint">"↑ ↓ to choose, Enter to open, Esc to close"</p>
                </form>
            </div>
        </Show>
    }
}
