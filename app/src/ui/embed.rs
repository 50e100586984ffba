//! `/embed`: the widget alone, for the frame `embed.js` puts on a host dashboard's page
//! (SPEC.md §6). The same [`Widget`] and live client as on Parley's own pages; what is
//! added is the bridge to the host page: the frame tells it whether the widget is open
//! and the unread count (so `embed.js` sizes the frame and calls `on("unread")`), and
//! takes `open`, `close` and `openThread` from it. Messages are exchanged only with the
//! host origin the frame was opened for (`?host=`), which single sign-on checked against
//! `PARLEY_EMBED_ORIGINS`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Html;
use leptos_router::hooks::use_query_map;

use super::bootstrap::WithBootstrap;
use super::widget::Widget;
use crate::api::open_thread;
use crate::error::ApiError;
use crate::model::is_hex_colour;
use crate::protocol::embed_messages;
use crate::state::{ChatState, use_chat};

#[component]
pub fn EmbedPage() -> impl IntoView {
    let state = use_chat();
    let query = use_query_map().get_untracked();
    let host = query
        .get("host")
        .filter(|h| h.starts_with("https://") || h.starts_with("http://"));
    state.embedded.set(true);
    // The host page remembers whether the widget was open: the first paint says so too.
    if query.get("open").as_deref() == Some("1") {
        state.widget_open.set(true);
    }
    let accent = query.get("accent").filter(|a| is_hex_colour(a)).map(|a| {
        format!(
            "--accent: {a}; --accent-text: {}",
            crate::model::text_on(&a)
        )
    });
    if let Some(host) = host {
        bridge(state, host);
    }
    view! {
        <Html {..} class="embed"/>
        <WithBootstrap>
            <div class="embed-root" style=accent.clone()>
                <Widget/>
            </div>
        </WithBootstrap>
    }
    .into_any()
}

/// Talks with `embed.js` on the host page (browser only).
fn bridge(state: ChatState, host: String) {
    let to_host = host.clone();
    let post = move |message: serde_json::Value| {
        let Some(parent) = window().parent().ok().flatten() else {
            return;
        };
        if let Ok(value) = js_sys::JSON::parse(&message.to_string()) {
            let _ = parent.post_message(&value, &to_host);
        }
    };
    let report = post.clone();
    Effect::new(move |_| {
        let open = state.widget_open.get();
        let unread = state.total_unread();
        report(serde_json::json!({
            "type": embed_messages::STATE,
            "open": open,
            "unread": unread,
        }));
    });
    Effect::new(move |_| {
        let host = host.clone();
        let post = post.clone();
        let handle = window_event_listener(leptos::ev::message, move |event| {
            if event.origin() != host {
                return;
            }
            let Some(data) = js_sys::JSON::stringify(&event.data())
                .ok()
                .and_then(|s| s.as_string())
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            else {
                return;
            };
            match data.get("type").and_then(|t| t.as_str()) {
                Some(embed_messages::OPEN) => state.widget_open.set(true),
                Some(embed_messages::CLOSE) => state.widget_open.set(false),
                Some(embed_messages::OPEN_THREAD) => {
                    let reference = data
                        .get("reference")
                        .and_then(|r| r.as_str())
                        .unwrap_or_default()
                        .to_string();
                    let post = post.clone();
                    spawn_local(async move {
                        match open_thread(reference).await {
                            Ok(conversation) => {
                                let id = conversation.id;
                                state.upsert_conversation(conversation);
                                state.widget_problem.set(None);
                                state.widget_conversation.set(Some(id));
                                state.widget_open.set(true);
                            }
                            Err(error) => {
                                state.widget_problem.set(Some(error.message.clone()));
                                state.widget_open.set(true);
                                post(error_message(&error));
                            }
                        }
                    });
                }
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    });
}

fn error_message(error: &ApiError) -> serde_json::Value {
    serde_json::json!({ "type": embed_messages::ERROR, "error": error })
}
