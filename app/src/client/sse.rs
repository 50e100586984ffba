//! One live connection over Server-Sent Events (`/events?after={last event}`), with
//! client frames posted to `/events/send?connection={id}`; the answer to a post (an ack,
//! an error) comes back in its response.

use futures::StreamExt;
use futures::channel::mpsc;
use gloo_net::http::Request;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use super::browser::{Ended, Wake, on_open};
use crate::error::ErrorCode;
use crate::protocol::{ClientFrame, ServerFrame};
use crate::state::ChatState;

enum Incoming {
    Frame(String),
    Broken,
}

/// Runs one stream until it breaks or the browser goes offline.
pub async fn session(state: ChatState, wake: &mut mpsc::UnboundedReceiver<Wake>) -> Ended {
    let mut ended = Ended::default();
    let after = state.last_event_id.get_untracked();
    let Ok(source) = web_sys::EventSource::new(&format!("/events?after={after}")) else {
        return ended;
    };
    let (incoming_tx, mut incoming) = mpsc::unbounded::<Incoming>();
    let on_message = {
        let tx = incoming_tx.clone();
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            if let Some(text) = ev.data().as_string() {
                let _ = tx.unbounded_send(Incoming::Frame(text));
            }
        })
    };
    // The browser would retry by itself with a stale position; we retry with ours.
    let on_error = Closure::<dyn Fn()>::new(move || {
        let _ = incoming_tx.unbounded_send(Incoming::Broken);
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));

    let (tx, mut outgoing) = mpsc::unbounded::<ClientFrame>();
    let mut connection_id = None;
    loop {
        futures::select! {
            event = incoming.next() => match event {
                Some(Incoming::Frame(text)) => {
                    let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else { continue };
                    if let ServerFrame::Error { client_id: None, error } = &frame
                        && error.code == ErrorCode::Unauthenticated
                    {
                        ended.signed_out = true;
                        break;
                    }
                    if let ServerFrame::Hello { connection_id: id, .. } = &frame {
                        connection_id = Some(*id);
                    }
                    let hello = matches!(frame, ServerFrame::Hello { .. });
                    state.apply(frame);
                    if hello {
                        ended.opened = true;
                        on_open(state, tx.clone());
                    }
                }
                Some(Incoming::Broken) | None => break,
            },
            frame = outgoing.next() => {
                let (Some(frame), Some(id)) = (frame, connection_id) else { continue };
                if !post(state, id, &frame).await {
                    break;
                }
            }
            w = wake.next() => {
                if w == Some(Wake::Offline) {
                    ended.offline = true;
                    break;
                }
            }
        }
    }
    source.close();
    source.set_onmessage(None);
    source.set_onerror(None);
    ended
}

/// Posts one frame and applies the direct answer. Returns false when the server could
/// not be reached (the stream is then presumably broken too).
async fn post(state: ChatState, connection: u64, frame: &ClientFrame) -> bool {
    let Ok(request) = Request::post(&format!("/events/send?connection={connection}")).json(frame)
    else {
        return true;
    };
    match request.send().await {
        Ok(response) => {
            if let Ok(Some(reply)) = response.json::<Option<ServerFrame>>().await {
                state.apply(reply);
            }
            true
        }
        Err(_) => false,
    }
}
