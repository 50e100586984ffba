//! The live connection, over its two transports ([`ws`]: WebSocket; [`sse`]: Server-Sent
//! Events plus POST), and what they share: the frames a connection opens with, the
//! handling of one client frame, and the rule that a live frame already replayed during
//! catch-up is not sent twice.

pub mod sse;
pub mod ws;

use std::future::Future;
use std::pin::Pin;

use app::error::{ApiError, ErrorCode};
use app::model::{EventId, User};
use app::protocol::{ClientFrame, ServerFrame};
use app::rules::Actor;

use crate::chat::Chat;
use crate::hub::{ConnectionId, Outbound};

/// `hello`, the presence snapshot, then everything missed after `after` (or, for a
/// client without a position, nothing), ending with `caught_up`. Returns the frames and
/// the stream position they reach.
pub async fn opening(
    chat: &Chat,
    user: &User,
    connection_id: ConnectionId,
    after: Option<EventId>,
) -> Result<(Vec<ServerFrame>, EventId), ApiError> {
    chat.metrics().connections_opened.inc();
    let mut frames = vec![
        ServerFrame::Hello {
            me: user.clone(),
            connection_id,
        },
        ServerFrame::Presence {
            users: chat.hub().presence_for(&Actor::from(user)),
        },
    ];
    let after = match after {
        Some(after) => after,
        None => chat
            .store()
            .last_event_id()
            .await
            .map_err(|e| e.to_api("storage failure"))?,
    };
    let catch_up = chat.catch_up(user, after).await?;
    frames.extend(catch_up.frames);
    Ok((frames, catch_up.last_event_id))
}

/// Whether a queued live frame still needs sending after catch-up reached `replayed`.
pub fn still_needed(outbound: &Outbound, replayed: EventId) -> bool {
    outbound.event_id.is_none_or(|id| id > replayed)
}

fn error_frame(error: ApiError) -> ServerFrame {
    ServerFrame::Error {
        client_id: None,
        error,
    }
}

/// The direct answer to a client frame: ready now, or (for a `send`) once the message is
/// committed. Answers go back in the order the frames came.
// A reply lives for one frame on the stack; boxing the big variant would cost an
// allocation per frame instead.
#[allow(clippy::large_enum_variant)]
pub enum Reply {
    Now(Option<ServerFrame>),
    Later(Pin<Box<dyn Future<Output = ServerFrame> + Send>>),
}

impl Reply {
    pub async fn resolve(self) -> Option<ServerFrame> {
        match self {
            Reply::Now(frame) => frame,
            Reply::Later(pending) => Some(pending.await),
        }
    }
}

/// Parses and executes one client frame. A `send` is checked and queued for the writer
/// before this returns, so the order of a connection's sends is the order of their `seq`.
pub async fn handle_text(
    chat: &Chat,
    user: &User,
    connection: ConnectionId,
    text: &str,
    max_frame_bytes: usize,
) -> Reply {
    let reply = execute(chat, user, connection, text, max_frame_bytes).await;
    let metrics = chat.metrics().clone();
    match reply {
        Reply::Now(frame) => {
            if matches!(frame, Some(ServerFrame::Error { .. })) {
                metrics.frames_refused.inc();
            }
            Reply::Now(frame)
        }
        Reply::Later(pending) => Reply::Later(Box::pin(async move {
            let frame = pending.await;
            if matches!(frame, ServerFrame::Error { .. }) {
                metrics.frames_refused.inc();
            }
            frame
        })),
    }
}

async fn execute(
    chat: &Chat,
    user: &User,
    connection: ConnectionId,
    text: &str,
    max_frame_bytes: usize,
) -> Reply {
    let read_at = std::time::Instant::now();
    if text.len() > max_frame_bytes {
        tracing::warn!(user = %user.username, bytes = text.len(), "frame too large");
        return Reply::Now(Some(error_frame(ApiError::new(
            ErrorCode::FrameTooLarge,
            format!("Frames may be at most {max_frame_bytes} bytes."),
        ))));
    }
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(e) => {
            tracing::warn!(user = %user.username, error = %e, "malformed frame");
            return Reply::Now(Some(error_frame(ApiError::new(
                ErrorCode::MalformedFrame,
                format!("Not a valid frame: {e}"),
            ))));
        }
    };
    let limits = chat.rate_limits();
    let allowed = match &frame {
        ClientFrame::Ping { .. } => Ok(()),
        ClientFrame::Send { .. } => limits.send(user.id),
        _ => limits.frame(user.id),
    };
    if let Err(limited) = allowed {
        tracing::info!(user = %user.username, "frame rate limited");
        return Reply::Now(match frame {
            ClientFrame::Send { client_id, .. } => Some(ServerFrame::Error {
                client_id: Some(client_id),
                error: limited.into(),
            }),
            ClientFrame::Read { .. } => Some(error_frame(limited.into())),
            // Typing and activity are only hints; the next one will do.
            _ => None,
        });
    }
    let refused = |client_id, error: ApiError| {
        tracing::info!(user = %user.username, code = %error.code, "send refused");
        ServerFrame::Error {
            client_id: Some(client_id),
            error,
        }
    };
    match frame {
        ClientFrame::Send {
            client_id,
            conversation_id,
            body,
            reply_to,
            attachments,
        } => match chat
            .submit_message(
                user,
                client_id,
                conversation_id,
                &body,
                reply_to,
                &attachments,
            )
            .await
        {
            Ok(pending) => {
                let username = user.username.clone();
                let metrics = chat.metrics().clone();
                Reply::Later(Box::pin(async move {
                    match pending.await {
                        Ok(ack) => {
                            metrics
                                .send_ack_seconds
                                .observe(read_at.elapsed().as_secs_f64());
                            ack.into()
                        }
                        Err(error) => {
                            tracing::info!(user = %username, code = %error.code, "send failed");
                            ServerFrame::Error {
                                client_id: Some(client_id),
                                error,
                            }
                        }
                    }
                }))
            }
            Err(error) => Reply::Now(Some(refused(client_id, error))),
        },
        ClientFrame::Read {
            conversation_id,
            seq,
        } => Reply::Now(
            chat.mark_read(user, conversation_id, seq)
                .await
                .err()
                .map(error_frame),
        ),
        ClientFrame::Typing { conversation_id } => Reply::Now(
            chat.typing(user, conversation_id)
                .await
                .err()
                .map(error_frame),
        ),
        ClientFrame::Activity { activity } => {
            chat.hub().set_activity(user.id, connection, activity);
            Reply::Now(None)
        }
        ClientFrame::Ping { nonce } => Reply::Now(Some(ServerFrame::Pong { nonce })),
    }
}
