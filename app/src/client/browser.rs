//! The reconnect loop and the browser signals it listens to: network online/offline,
//! tab visibility and focus, and user input (for idle detection).

use std::cell::Cell;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::{FutureExt, StreamExt};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::model::{Activity, ConnectionMode};
use crate::protocol::ClientFrame;
use crate::state::{ChatState, Connection, Transport};

/// First retry after this long; doubles up to [`MAX_BACKOFF_MS`].
const BASE_BACKOFF_MS: f64 = 500.0;
const MAX_BACKOFF_MS: f64 = 15_000.0;
/// In `auto` mode, after this many WebSocket attempts that never said hello (and none
/// that did), the page switches to Server-Sent Events.
const WEBSOCKET_ATTEMPTS_BEFORE_SSE: u32 = 2;
/// How often idleness is checked.
const ACTIVITY_CHECK_MS: i32 = 5_000;

/// What wakes the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    Online,
    Offline,
    /// The tab became visible or got focus: a good moment to reconnect.
    Attention,
}

/// How a connection ended.
#[derive(Default)]
pub struct Ended {
    /// The server said hello: the connection really opened.
    pub opened: bool,
    /// The browser went offline.
    pub offline: bool,
    /// The session ended (signed out in another tab): stop and go to the sign-in page.
    pub signed_out: bool,
}

pub fn page_visible() -> bool {
    document().visibility_state() == web_sys::VisibilityState::Visible
}

fn online() -> bool {
    window().navigator().on_line()
}

/// Starts the connection loop once per page; later calls do nothing.
pub fn connect(state: ChatState) {
    thread_local! {
        static STARTED: Cell<bool> = const { Cell::new(false) };
    }
    if STARTED.with(|s| s.replace(true)) {
        return;
    }
    state.restore_outbox();
    if !register_service_worker() {
        state.pages_offline.set(false);
    }
    let (wake_tx, wake_rx) = mpsc::unbounded::<Wake>();
    watch_network(wake_tx);
    watch_activity(state);
    tick_clock(state);
    spawn_local(run(state, wake_rx));
}

fn listen(target: &web_sys::EventTarget, event: &str, f: impl Fn() + 'static) {
    let closure = Closure::<dyn Fn()>::new(f);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget();
}

fn watch_network(wake: mpsc::UnboundedSender<Wake>) {
    let w = window();
    for (event, signal) in [
        ("online", Wake::Online),
        ("offline", Wake::Offline),
        ("focus", Wake::Attention),
    ] {
        let wake = wake.clone();
        listen(&w, event, move || {
            let _ = wake.unbounded_send(signal);
        });
    }
    listen(&document(), "visibilitychange", move || {
        if page_visible() {
            let _ = wake.unbounded_send(Wake::Attention);
        }
    });
}

/// Tracks input and visibility; tells the server when this tab turns idle or active,
/// and marks the open conversation read when the tab becomes visible again.
fn watch_activity(state: ChatState) {
    let last_input = Rc::new(Cell::new(js_sys::Date::now()));
    for event in [
        "keydown",
        "pointerdown",
        "pointermove",
        "wheel",
        "touchstart",
    ] {
        let last_input = last_input.clone();
        listen(&document(), event, move || {
            last_input.set(js_sys::Date::now())
        });
    }
    let reported = Rc::new(Cell::new(Activity::Active));
    let check = {
        let reported = reported.clone();
        move || {
            let idle_after = state
                .settings
                .with_untracked(|s| s.as_ref().map(|s| f64::from(s.idle_after_ms)))
                .unwrap_or(300_000.0);
            let now = if page_visible() && js_sys::Date::now() - last_input.get() < idle_after {
                Activity::Active
            } else {
                Activity::Idle
            };
            if now != reported.get() && state.send_frame(ClientFrame::Activity { activity: now }) {
                reported.set(now);
            }
        }
    };
    let check = Rc::new(check);
    {
        let check = check.clone();
        listen(&document(), "visibilitychange", move || {
            check();
            if page_visible()
                && let Some(open) = state.viewing.get_untracked()
            {
                state.mark_read(open);
            }
        });
    }
    let tick = Closure::<dyn Fn()>::new(move || check());
    let _ = window().set_interval_with_callback_and_timeout_and_arguments_0(
        tick.as_ref().unchecked_ref(),
        ACTIVITY_CHECK_MS,
    );
    tick.forget();
    // A new connection starts as active on the server; tell it otherwise.
    Effect::new(move |_| {
        if state.connection.get() == Connection::Online && reported.get() == Activity::Idle {
            state.send_frame(ClientFrame::Activity {
                activity: Activity::Idle,
            });
        }
    });
}

fn tick_clock(state: ChatState) {
    state.now_ms.set(js_sys::Date::now());
    let tick = Closure::<dyn Fn()>::new(move || {
        if state.typing.with_untracked(|t| !t.is_empty()) {
            state.now_ms.set(js_sys::Date::now());
        }
    });
    let _ = window().set_interval_with_callback_and_timeout_and_arguments_0(
        tick.as_ref().unchecked_ref(),
        1_000,
    );
    tick.forget();
}

/// The service worker keeps the last copy of each page and the wasm bundle, so a reload
/// while offline still shows the page and its unsent messages (see `public/sw.js`).
/// Browsers offer service workers on secure pages only (HTTPS or localhost); elsewhere
/// this returns false and the page says that offline reloads are off.
fn register_service_worker() -> bool {
    let navigator = window().navigator();
    let available = js_sys::Reflect::get(&navigator, &"serviceWorker".into())
        .is_ok_and(|sw| !sw.is_undefined() && !sw.is_null());
    if available {
        let container = navigator.service_worker();
        let _ = container.register("/sw.js");
        // A page loaded while the worker was still starting was not fetched through it:
        // once the worker is ready, it is asked to keep this page (it does nothing when
        // the page is kept already).
        if let Ok(ready) = container.ready() {
            leptos::task::spawn_local(async move {
                if let Ok(registration) = wasm_bindgen_futures::JsFuture::from(ready).await
                    && let Some(worker) = registration
                        .unchecked_into::<web_sys::ServiceWorkerRegistration>()
                        .active()
                {
                    let _ = worker.post_message(&"keep".into());
                }
            });
        }
    }
    available
}

async fn run(state: ChatState, mut wake: mpsc::UnboundedReceiver<Wake>) {
    let mut failures: u32 = 0;
    let mut websocket_worked = false;
    let mut websocket_failures: u32 = 0;
    loop {
        if !online() {
            state.connection.set(Connection::Offline);
            while wake.next().await.is_some_and(|w| w != Wake::Online) {}
            continue;
        }
        state.connection.set(Connection::Connecting);
        let mode = state
            .settings
            .with_untracked(|s| s.as_ref().map(|s| s.connection_mode))
            .unwrap_or(ConnectionMode::Auto);
        let use_sse = match mode {
            ConnectionMode::Sse => true,
            ConnectionMode::WebSocket => false,
            ConnectionMode::Auto => {
                !websocket_worked && websocket_failures >= WEBSOCKET_ATTEMPTS_BEFORE_SSE
            }
        };
        let ended = if use_sse {
            state.transport.set(Transport::Sse);
            super::sse::session(state, &mut wake).await
        } else {
            state.transport.set(Transport::WebSocket);
            let ended = super::ws::session(state, &mut wake).await;
            if ended.opened {
                websocket_worked = true;
            } else if !ended.offline {
                websocket_failures += 1;
            }
            ended
        };
        state.set_sender(None);
        state.connection.set(Connection::Offline);
        if ended.signed_out {
            to_sign_in();
            return;
        }
        if ended.offline {
            continue;
        }
        // A refused connection does not say why: ask whether the session has ended
        // (expired, or signed out while this tab was asleep).
        if !ended.opened && !session_alive().await {
            to_sign_in();
            return;
        }
        failures = if ended.opened {
            0
        } else {
            failures.saturating_add(1)
        };
        let backoff = (BASE_BACKOFF_MS * 2f64.powi(failures.min(10) as i32)).min(MAX_BACKOFF_MS);
        let delay = backoff * (0.5 + js_sys::Math::random() * 0.5);
        let sleep = gloo_timers::future::TimeoutFuture::new(delay as u32).fuse();
        futures::pin_mut!(sleep);
        loop {
            futures::select! {
                _ = sleep => break,
                w = wake.next() => match w {
                    Some(Wake::Online | Wake::Attention) => break,
                    Some(Wake::Offline) => {}
                    None => return,
                },
            }
        }
    }
}

/// False only when the server says this browser has no session any more; a server that
/// cannot be reached counts as alive (the reconnect loop keeps trying).
async fn session_alive() -> bool {
    match gloo_net::http::Request::get(crate::protocol::SESSION_PROBE)
        .send()
        .await
    {
        Ok(response) => response.status() != 401,
        Err(_) => true,
    }
}

/// Leaves for the sign-in page, which brings the user back here afterwards.
fn to_sign_in() {
    let location = window().location();
    let here = format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    );
    let next = js_sys::encode_uri_component(&here);
    let _ = location.assign(&format!("/login?next={next}"));
}

/// What both transports do once the server said hello.
pub fn on_open(state: ChatState, sender: mpsc::UnboundedSender<ClientFrame>) {
    state.set_sender(Some(sender));
    state.flush_outbox();
    if let Some(viewing) = state.viewing.get_untracked() {
        state.mark_read(viewing);
    }
}
