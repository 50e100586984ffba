use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{Message as WsMessage, futures::WebSocket};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::protocol::{ClientFrame, ServerFrame};
use crate::ui::state::{ChatState, Connection};

/// First retry after this long; doubles up to [`MAX_BACKOFF_MS`].
const BASE_BACKOFF_MS: f64 = 500.0;
const MAX_BACKOFF_MS: f64 = 15_000.0;

/// Starts the connection loop once per page; later calls do nothing.
pub fn connect(state: ChatState) {
    thread_local! {
        static STARTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if STARTED.with(|s| s.replace(true)) {
        return;
    }
    let (wake_tx, wake_rx) = mpsc::unbounded::<()>();
    watch_network(wake_tx);
    spawn_local(run(state, wake_rx));
}

/// Wakes the reconnect loop when the browser regains the network.
fn watch_network(wake: mpsc::UnboundedSender<()>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_online = Closure::<dyn Fn()>::new(move || {
        let _ = wake.unbounded_send(());
    });
    let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
    on_online.forget();
}

fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

async fn run(state: ChatState, mut wake: mpsc::UnboundedReceiver<()>) {
    let mut failures: u32 = 0;
    let mut connected_before = false;
    loop {
        state.connection.set(Connection::Connecting);
        let had_hello = match socket_url().map(|url| WebSocket::open(&url)) {
            Some(Ok(ws)) => session(state, ws, connected_before).await,
            _ => false,
        };
        state.set_sender(None);
        state.connection.set(Connection::Offline);
        connected_before |= had_hello;
        failures = if had_hello {
            0
        } else {
            failures.saturating_add(1)
        };
        let backoff = (BASE_BACKOFF_MS * 2f64.powi(failures.min(10) as i32)).min(MAX_BACKOFF_MS);
        let delay = backoff * (0.5 + js_sys::Math::random() * 0.5);
        let sleep = gloo_timers::future::TimeoutFuture::new(delay as u32).fuse();
        futures::pin_mut!(sleep);
        futures::select! {
            _ = sleep => {},
            _ = wake.next() => {},
        }
    }
}

/// Runs one connection until it closes. Returns whether the server said hello, i.e.
/// whether the connection really opened. After a reconnect it asks the page to refetch
/// what it shows, so nothing missed while away stays missing.
async fn session(state: ChatState, ws: WebSocket, reconnect: bool) -> bool {
    let (mut write, read) = ws.split();
    let mut read = read.fuse();
    let (tx, mut outgoing) = mpsc::unbounded::<ClientFrame>();
    let mut had_hello = false;
    loop {
        futures::select! {
            incoming = read.next() => {
                let Some(Ok(WsMessage::Text(text))) = incoming else {
                    if matches!(incoming, Some(Ok(WsMessage::Bytes(_)))) {
                        continue;
                    }
                    return had_hello;
                };
                let frame = match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(frame) => frame,
                    Err(e) => {
                        leptos::logging::warn!("unreadable frame from server: {e}");
                        continue;
                    }
                };
                let hello = matches!(frame, ServerFrame::Hello { .. });
                state.apply(frame);
                if hello {
                    had_hello = true;
                    state.set_sender(Some(tx.clone()));
                    state.flush_outbox();
                    if let Some(viewing) = state.viewing.get_untracked() {
                        state.mark_read(viewing);
                    }
                    if reconnect {
                        state.resync.update(|n| *n += 1);
                    }
                }
            }
            frame = outgoing.next() => {
                let Some(frame) = frame else { continue };
                let Ok(text) = serde_json::to_string(&frame) else { continue };
                if write.send(WsMessage::Text(text)).await.is_err() {
                    return had_hello;
                }
            }
        }
    }
}
