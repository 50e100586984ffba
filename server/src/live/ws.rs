//! `/ws?after={event id}`: the live connection over WebSocket. Checks the session cookie
//! and `Origin`, registers with the hub, replays what the client missed after `after`,
//! then runs one loop that parses client frames, hands them to the command path, writes
//! answers, drains the hub queue, and pings. A bad frame gets a typed `error` frame and
//! the connection stays open; a frame over the hard size cap, a queue overflow
//! ([`CLOSE_SLOW_CONSUMER`]), a write that does not complete in time, or a peer silent
//! for too long ([`CLOSE_TIMED_OUT`]) closes it, and so does signing out of the session
//! the connection was opened with ([`CLOSE_UNAUTHENTICATED`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::stream::FuturesOrdered;
use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use tokio::time::Instant;

use app::api::backend::Authenticated;
use app::error::{ApiError, ErrorCode};
use app::model::{EventId, User};
use app::protocol::{
    CLOSE_GOING_AWAY, CLOSE_NOT_UTF8, CLOSE_PROTOCOL_ERROR, CLOSE_SLOW_CONSUMER, CLOSE_TIMED_OUT,
    CLOSE_TOO_BIG, CLOSE_UNAUTHENTICATED, ServerFrame,
};
use app::rules::Actor;

use crate::chat::Chat;
use crate::hub::{CutOff, Outbound};
use crate::live;
use crate::web::{AppState, error_response, origin_allowed};

/// Queued frames written with one flush at most.
const WRITE_BATCH: usize = 64;

/// Sends one connection may have waiting for their commit before it stops reading more.
const MAX_IN_FLIGHT: usize = 64;

/// How long a close we sent waits for the client's own close.
const CLOSING_HANDSHAKE: Duration = Duration::from_secs(1);

/// Frames above this many bytes break the connection outright (tungstenite refuses to
/// buffer them); between the configured limit and this, they get a typed error.
fn hard_cap(max_frame_bytes: usize) -> usize {
    (max_frame_bytes.saturating_mul(4)).max(1 << 20)
}

#[derive(Deserialize)]
pub struct ResumeQuery {
    /// The newest event the client has; it receives everything after.
    after: Option<i64>,
}

/// Timing of one connection, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub max_frame_bytes: usize,
    /// How often the server pings.
    pub ping_every: Duration,
    /// A peer that sends nothing (not even a pong) for this long is disconnected.
    pub silent_for: Duration,
    /// A write that takes longer than this means the peer stopped reading.
    pub write_within: Duration,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Query(query): Query<ResumeQuery>,
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
    if let Err(limited) = state.rate_limits.connection(user.id) {
        tracing::info!(user = %user.username, "live connection rate limited");
        return error_response(limited.into());
    }
    let session = crate::auth::session_key(&headers);
    let config = &state.config;
    let cap = hard_cap(config.max_frame_bytes);
    let timing = config.ws_timing();
    ws.max_message_size(cap)
        .max_frame_size(cap)
        .read_buffer_size(config.ws_read_buffer)
        .write_buffer_size(config.ws_write_buffer)
        .on_upgrade(move |socket: WebSocket| {
            // A span for the connection's whole life, under the upgrade request's (its id).
            let span = tracing::info_span!(
                "live",
                transport = "websocket",
                user = %user.username,
                connection = tracing::field::Empty,
            );
            // Tracked, so that a shutdown waits for the connection to close (axum stops
            // tracking a connection once it is upgraded).
            state
                .connections
                .track_future(tracing::Instrument::instrument(
                    serve(
                        socket,
                        state.chat.clone(),
                        user,
                        session,
                        query.after.map(EventId),
                        timing,
                        state.shutdown.clone(),
                    ),
                    span,
                ))
        })
}

/// Runs one connection until the client goes, the hub cuts it off, or shutdown.
/// Generic over the socket so tests can drive it with channels.
pub async fn serve<S, E>(
    socket: S,
    chat: Arc<Chat>,
    user: User,
    session: Option<String>,
    after: Option<EventId>,
    timing: Timing,
    shutdown: tokio_util::sync::CancellationToken,
) where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
    E: std::error::Error + 'static,
{
    let (mut sink, mut stream) = socket.split();
    // Register before reading the backlog: whatever commits meanwhile is queued.
    let mut registration = chat
        .hub()
        .register_session(Actor::from(&user), session.as_deref());
    let connection = registration.id;
    tracing::Span::current().record("connection", connection);
    tracing::info!("connected");
    let replayed = match live::opening(&chat, &user, connection, after).await {
        Ok((frames, replayed)) => {
            for frame in &frames {
                if send(&mut sink, frame, timing.write_within).await.is_err() {
                    return;
                }
            }
            replayed
        }
        Err(error) => {
            let _ = send(
                &mut sink,
                &ServerFrame::Error {
                    client_id: None,
                    error,
                },
                timing.write_within,
            )
            .await;
            return;
        }
    };
    let mut ping = tokio::time::interval_at(Instant::now() + timing.ping_every, timing.ping_every);
    let mut last_heard = Instant::now();
    // Answers still to come, in the order their frames arrived.
    let mut answers: FuturesOrdered<Pin<Box<dyn Future<Output = Option<ServerFrame>> + Send>>> =
        FuturesOrdered::new();
    // Made once: a `cancelled()` made afresh on every turn of the loop joined and left the
    // shutdown token's list of waiters (a lock each time) for every frame delivered.
    let mut shutting_down = std::pin::pin!(shutdown.cancelled());
    let close = loop {
        tokio::select! {
            // Answers first: a sender's ack goes out before its own message's fan-out.
            biased;
            Some(answer) = answers.next(), if !answers.is_empty() => {
                // The answers ready with it and what the hub queued meanwhile (under load,
                // the sender's own message among it) go out in the same write.
                let mut replies: Vec<ServerFrame> = answer.into_iter().collect();
                while let Some(Some(ready)) = answers.next().now_or_never() {
                    replies.extend(ready);
                }
                let queued = drain(&mut registration.queue, Vec::new());
                if write(&mut sink, &replies, &queued, replayed, timing.write_within).await.is_err() {
                    break None;
                }
            }
            incoming = stream.next(), if answers.len() < MAX_IN_FLIGHT => {
                last_heard = Instant::now();
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        match live::handle_text(&chat, &user, connection, text.as_str(), timing.max_frame_bytes).await {
                            live::Reply::Now(Some(reply)) if answers.is_empty() => {
                                if send(&mut sink, &reply, timing.write_within).await.is_err() {
                                    break None;
                                }
                            }
                            live::Reply::Now(reply) => answers.push_back(Box::pin(std::future::ready(reply))),
                            live::Reply::Later(pending) => answers.push_back(Box::pin(async move { Some(pending.await) })),
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let reply = ServerFrame::Error {
                            client_id: None,
                            error: ApiError::new(ErrorCode::MalformedFrame, "Frames are JSON text."),
                        };
                        if send(&mut sink, &reply, timing.write_within).await.is_err() {
                            break None;
                        }
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(e)) => {
                        tracing::info!(connection, error = %e, "connection failed");
                        break close_for(&e);
                    }
                }
            }
            queued = registration.queue.recv() => match queued {
                Some(first) => {
                    // Everything already queued goes out in one flush (one write under load).
                    let queued = drain(&mut registration.queue, vec![first]);
                    if write(&mut sink, &[], &queued, replayed, timing.write_within).await.is_err() {
                        tracing::info!(connection, "write did not complete: dropping the connection");
                        break None;
                    }
                }
                None => {
                    break registration.cut_off().map(|why| match why {
                        CutOff::SlowConsumer => (CLOSE_SLOW_CONSUMER, "slow consumer: reconnect and catch up"),
                        CutOff::SessionEnded => (CLOSE_UNAUTHENTICATED, "signed out"),
                        CutOff::Resync => (CLOSE_GOING_AWAY, "events missed between nodes: reconnect and catch up"),
                    });
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > timing.silent_for {
                    break Some((CLOSE_TIMED_OUT, "no sign of life: reconnect"));
                }
                let write = sink.send(Message::Ping(Default::default()));
                if !matches!(tokio::time::timeout(timing.write_within, write).await, Ok(Ok(()))) {
                    break None;
                }
            }
            _ = &mut shutting_down => {
                // Frames already read are answered first: a send being committed gets its
                // ack (or its error) before the close, so the client need not resend it.
                let until = Instant::now() + timing.write_within;
                while let Ok(Some(answer)) = tokio::time::timeout_at(until, answers.next()).await {
                    if let Some(answer) = answer
                        && send(&mut sink, &answer, timing.write_within).await.is_err()
                    {
                        break;
                    }
                }
                break Some((CLOSE_GOING_AWAY, "server shutting down: reconnect"));
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        if matches!(
            tokio::time::timeout(timing.write_within, sink.send(frame)).await,
            Ok(Ok(()))
        ) {
            // The closing handshake: what the client sent meanwhile is read (and dropped:
            // it resends what was not acked) until its close comes back. Closing with
            // unread frames would reset the connection, and the client could lose the
            // acks and the close just sent.
            let _ = tokio::time::timeout(CLOSING_HANDSHAKE, async {
                while let Some(Ok(message)) = stream.next().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
    tracing::info!(close = ?close.map(|(code, _)| code), "disconnected");
}

/// The close a frame that could not be read earns (RFC 6455 §7.4.1), when the peer is
/// still there to hear it: over the hard cap, text that is not UTF-8, a broken frame.
fn close_for(error: &(dyn std::error::Error + 'static)) -> Option<(u16, &'static str)> {
    // axum's error wraps tungstenite's.
    let found = std::iter::successors(Some(error), |e| e.source())
        .find_map(|e| e.downcast_ref::<tungstenite::Error>())?;
    match found {
        tungstenite::Error::Capacity(_) => Some((CLOSE_TOO_BIG, "frame over the size limit")),
        tungstenite::Error::Utf8(_) => Some((CLOSE_NOT_UTF8, "text frame is not UTF-8")),
        tungstenite::Error::Protocol(_) => Some((CLOSE_PROTOCOL_ERROR, "protocol error")),
        _ => None,
    }
}

/// `batch` and what else the hub has queued, up to [`WRITE_BATCH`] frames.
fn drain(
    queue: &mut tokio::sync::mpsc::Receiver<Outbound>,
    mut batch: Vec<Outbound>,
) -> Vec<Outbound> {
    while batch.len() < WRITE_BATCH {
        match queue.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    batch
}

/// Answers, then queued frames (those catch-up has not already sent), with one flush: one
/// write call for all of them when they fit the write buffer.
async fn write<K: Sink<Message> + Unpin>(
    sink: &mut K,
    replies: &[ServerFrame],
    queued: &[Outbound],
    replayed: EventId,
    within: Duration,
) -> Result<(), ()> {
    if replies.is_empty() && queued.is_empty() {
        return Ok(());
    }
    let write = async {
        for reply in replies {
            let text = serde_json::to_string(reply).map_err(|_| ())?;
            sink.feed(Message::Text(text.into()))
                .await
                .map_err(|_| ())?;
        }
        for outbound in queued.iter().filter(|o| live::still_needed(o, replayed)) {
            sink.feed(Message::Text(outbound.text.clone()))
                .await
                .map_err(|_| ())?;
        }
        sink.flush().await.map_err(|_| ())
    };
    match tokio::time::timeout(within, write).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// One frame, written at once.
async fn send<K: Sink<Message> + Unpin>(
    sink: &mut K,
    frame: &ServerFrame,
    within: Duration,
) -> Result<(), ()> {
    write(sink, std::slice::from_ref(frame), &[], EventId(0), within).await
}
