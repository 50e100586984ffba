//! `/ws`: the live connection. Checks the session cookie and `Origin`, registers the
//! connection with the hub, then runs one loop per connection that parses client frames,
//! hands them to the command path, writes its answers, and drains the hub queue. A bad
//! frame gets a typed `error` frame and the connection stays open; a frame over the hard
//! size cap, or a queue overflow, closes it (the latter with [`CLOSE_SLOW_CONSUMER`]).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::{Sink, SinkExt, Stream, StreamExt};

use app::api::backend::Authenticated;
use app::error::{ApiError, ErrorCode};
use app::model::User;
use app::protocol::{CLOSE_GOING_AWAY, CLOSE_SLOW_CONSUMER, ClientFrame, ServerFrame};
use app::rules::Actor;

use crate::chat::Chat;
use crate::http::{AppState, error_response, origin_allowed};

/// Frames above this many bytes break the connection outright (tungstenite refuses to
/// buffer them); between the configured limit and this, they get a typed error.
fn hard_cap(max_frame_bytes: usize) -> usize {
    (max_frame_bytes.saturating_mul(4)).max(1 << 20)
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Option<Extension<Authenticated>>,
) -> Response {
    if !origin_allowed(&headers, &state.config.allowed_origins, false) {
        tracing::warn!("refused a WebSocket from a foreign origin");
        return error_response(ApiError::forbidden());
    }
    let Some(Extension(Authenticated(user))) = user else {
        return error_response(ApiError::unauthenticated());
    };
    let cap = hard_cap(state.config.max_frame_bytes);
    ws.max_message_size(cap)
        .max_frame_size(cap)
        .on_upgrade(move |socket: WebSocket| async move {
            let limit = state.config.max_frame_bytes;
            serve(
                socket,
                state.chat.clone(),
                user,
                limit,
                state.shutdown.clone(),
            )
            .await;
        })
}

/// Runs one connection until the client goes, the hub cuts it off, or shutdown.
/// Generic over the socket so tests can drive it with channels.
pub async fn serve<S, E>(
    socket: S,
    chat: Arc<Chat>,
    user: User,
    max_frame_bytes: usize,
    shutdown: tokio_util::sync::CancellationToken,
) where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
    E: std::fmt::Display,
{
    let (mut sink, mut stream) = socket.split();
    let mut registration = chat.hub().register(Actor::from(&user));
    let connection = registration.id;
    tracing::debug!(connection, user = %user.username, "connected");
    if send(&mut sink, &ServerFrame::Hello { me: user.clone() })
        .await
        .is_err()
    {
        return;
    }
    let close = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = handle_text(&chat, &user, text.as_str(), max_frame_bytes).await
                        && send(&mut sink, &reply).await.is_err() {
                            break None;
                        }
                }
                Some(Ok(Message::Binary(_))) => {
                    let reply = error_frame(ApiError::new(ErrorCode::MalformedFrame, "Frames are JSON text."));
                    if send(&mut sink, &reply).await.is_err() {
                        break None;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Err(e)) => {
                    tracing::info!(connection, error = %e, "connection failed");
                    break None;
                }
            },
            queued = registration.queue.recv() => match queued {
                Some(text) => {
                    if sink.send(Message::Text(text.as_ref().into())).await.is_err() {
                        break None;
                    }
                }
                None => {
                    break registration
                        .was_slow()
                        .then_some((CLOSE_SLOW_CONSUMER, "slow consumer: reconnect and catch up"));
                }
            },
            _ = shutdown.cancelled() => break Some((CLOSE_GOING_AWAY, "server shutting down: reconnect")),
        }
    };
    if let Some((code, reason)) = close {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
    tracing::debug!(connection, user = %user.username, "disconnected");
}

async fn send<K: Sink<Message> + Unpin>(sink: &mut K, frame: &ServerFrame) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    sink.send(Message::Text(text.into())).await.map_err(|_| ())
}

fn error_frame(error: ApiError) -> ServerFrame {
    ServerFrame::Error {
        client_id: None,
        error,
    }
}

/// Parses and executes one client frame; returns the direct answer, if any.
pub async fn handle_text(
    chat: &Chat,
    user: &User,
    text: &str,
    max_frame_bytes: usize,
) -> Option<ServerFrame> {
    if text.len() > max_frame_bytes {
        tracing::warn!(user = %user.username, bytes = text.len(), "frame too large");
        return Some(error_frame(ApiError::new(
            ErrorCode::FrameTooLarge,
            format!("Frames may be at most {max_frame_bytes} bytes."),
        )));
    }
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(e) => {
            tracing::warn!(user = %user.username, error = %e, "malformed frame");
            return Some(error_frame(ApiError::new(
                ErrorCode::MalformedFrame,
                format!("Not a valid frame: {e}"),
            )));
        }
    };
    match frame {
        ClientFrame::Send {
            client_id,
            conversation_id,
            body,
        } => Some(
            match chat
                .send_message(user, client_id, conversation_id, &body)
                .await
            {
                Ok(ack) => ack.into(),
                Err(error) => {
                    tracing::info!(user = %user.username, code = %error.code, "send refused");
                    ServerFrame::Error {
                        client_id: Some(client_id),
                        error,
                    }
                }
            },
        ),
        ClientFrame::Read {
            conversation_id,
            seq,
        } => chat
            .mark_read(user, conversation_id, seq)
            .await
            .err()
            .map(error_frame),
        ClientFrame::Ping { nonce } => Some(ServerFrame::Pong { nonce }),
    }
}
