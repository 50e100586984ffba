//! One live connection over WebSocket: `/ws?after={last event}`.

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{Message as WsMessage, WebSocketError, futures::WebSocket};
use leptos::prelude::*;

use super::browser::{Ended, Wake, on_open};
use crate::protocol::{CLOSE_UNAUTHENTICATED, ClientFrame, ServerFrame};
use crate::state::ChatState;

fn url(state: ChatState) -> Option<String> {
    let location = window().location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let after = state.last_event_id.get_untracked();
    Some(format!(
        "{scheme}://{}/ws?after={after}",
        location.host().ok()?
    ))
}

/// Runs one connection until it closes or the browser goes offline.
pub async fn session(state: ChatState, wake: &mut mpsc::UnboundedReceiver<Wake>) -> Ended {
    let mut ended = Ended::default();
    let Some(Ok(ws)) = url(state).map(|url| WebSocket::open(&url)) else {
        return ended;
    };
    let (mut write, read) = ws.split();
    let mut read = read.fuse();
    let (tx, mut outgoing) = mpsc::unbounded::<ClientFrame>();
    loop {
        futures::select! {
            incoming = read.next() => {
                let text = match incoming {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Bytes(_))) => continue,
                    Some(Err(WebSocketError::ConnectionClose(close))) => {
                        ended.signed_out = close.code == CLOSE_UNAUTHENTICATED;
                        return ended;
                    }
                    _ => return ended,
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
                    ended.opened = true;
                    on_open(state, tx.clone());
                }
            }
            frame = outgoing.next() => {
                let Some(frame) = frame else { continue };
                let Ok(text) = serde_json::to_string(&frame) else { continue };
                if write.send(WsMessage::Text(text)).await.is_err() {
                    return ended;
                }
            }
            w = wake.next() => {
                if w == Some(Wake::Offline) {
                    ended.offline = true;
                    let _ = write.close().await;
                    return ended;
                }
            }
        }
    }
}
