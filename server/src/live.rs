//! What the two live transports (WebSocket and Server-Sent Events) share: the frames a
//! connection opens with, the handling of one client frame, and the rule that a live
//! frame already replayed during catch-up is not sent twice.

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
        None => chat.store().last_event_id().await.map_err(|e| {
            tracing::error!(error = %e, "storage failure");
            ApiError::internal()
        })?,
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

/// Parses and executes one client frame; returns the direct answer, if any.
pub async fn handle_text(
    chat: &Chat,
    user: &User,
    connection: ConnectionId,
    text: &str,
    max_frame_bytes: usize,
) -> Option<ServerFrame> {
    let reply = execute(chat, user, connection, text, max_frame_bytes).await;
    if matches!(reply, Some(ServerFrame::Error { .. })) {
        chat.metrics().frames_refused.inc();
    }
    reply
}

async fn execute(
    chat: &Chat,
    user: &User,
    connection: ConnectionId,
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
        ClientFrame::Typing { conversation_id } => chat
            .typing(user, conversation_id)
            .await
            .err()
            .map(error_frame),
        ClientFrame::Activity { activity } => {
            chat.hub().set_activity(user.id, connection, activity);
            None
        }
        ClientFrame::Ping { nonce } => Some(ServerFrame::Pong { nonce }),
    }
}
