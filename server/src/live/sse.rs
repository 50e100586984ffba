//! The fallback transport for networks that block WebSockets: the same frames as `/ws`,
//! as Server-Sent Events from `GET /events?after={event id}`, with client frames posted
//! to `POST /events/send?connection={id}` (the answer to a post — ack, error, pong — is
//! its response body). Registration, catch-up, slow-consumer cut-off and shutdown work
//! exactly as for WebSockets.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;

use app::api::backend::Authenticated;
use app::error::{ApiError, ErrorCode};
use app::model::EventId;
use app::protocol::ServerFrame;
use app::rules::Actor;

use crate::hub::{CutOff, Registration};
use crate::live;
use crate::web::{AppState, error_response, origin_allowed};

#[derive(Deserialize)]
pub struct StreamQuery {
    after: Option<i64>,
}

/// How often an idle stream sends a comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub async fn stream(
    State(state): State<AppState>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
    user: Option<Extension<Authenticated>>,
) -> Response {
    // As for the WebSocket: another site's page may not open a stream with this browser's
    // cookie. A browser names the page's origin on every cross-site EventSource; its own
    // same-site one may come without (GET), so only a foreign origin is refused.
    if !origin_allowed(&headers, &state.config.allowed_origins, true) {
        tracing::warn!("refused an event stream from a foreign origin");
        return error_response(ApiError::forbidden());
    }
    let Some(Extension(Authenticated(user))) = user else {
        return error_response(ApiError::unauthenticated());
    };
    if let Err(limited) = state.rate_limits.connection(user.id) {
        tracing::info!(user = %user.username, "live connection rate limited");
        return error_response(limited.into());
    }
    // A browser reconnecting by itself names the last event it saw.
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or(query.after)
        .map(EventId);
    let chat = state.chat.clone();
    let session = crate::auth::session_key(&headers);
    let registration = chat
        .hub()
        .register_session(Actor::from(&user), session.as_deref());
    let (opening, replayed) = match live::opening(&chat, &user, registration.id, after).await {
        Ok(opening) => opening,
        Err(error) => return error_response(error),
    };
    let pending: VecDeque<String> = opening
        .iter()
        .filter_map(|f| serde_json::to_string(f).ok())
        .collect();
    let shutdown = state.shutdown.clone();
    // A span for the stream's whole life, under the request's (its id).
    let span = tracing::info_span!(
        "live",
        transport = "sse",
        user = %user.username,
        connection = registration.id,
    );
    span.in_scope(|| tracing::info!("connected"));
    let events = frames(registration, pending, replayed, shutdown, span);
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// The opening frames, then live frames not already replayed, until the hub drops the
/// registration (slow consumer; signed out, which is said with an `unauthenticated`
/// error first) or the server shuts down. Dropping the stream (the client went away)
/// drops the registration.
fn frames(
    registration: Registration,
    pending: VecDeque<String>,
    replayed: EventId,
    shutdown: tokio_util::sync::CancellationToken,
    span: tracing::Span,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(Some((registration, pending, shutdown)), move |state| {
        tracing::Instrument::instrument(
            async move {
                let (mut registration, mut pending, shutdown) = state?;
                if let Some(text) = pending.pop_front() {
                    return Some((
                        Ok(Event::default().data(text)),
                        Some((registration, pending, shutdown)),
                    ));
                }
                loop {
                    tokio::select! {
                        queued = registration.queue.recv() => match queued {
                            Some(outbound) if live::still_needed(&outbound, replayed) => {
                                let event = Event::default().data(outbound.text.as_str());
                                return Some((Ok(event), Some((registration, pending, shutdown))));
                            }
                            Some(_) => continue,
                            None if registration.cut_off() == Some(CutOff::SessionEnded) => {
                                let frame = ServerFrame::Error {
                                    client_id: None,
                                    error: ApiError::unauthenticated(),
                                };
                                let text = serde_json::to_string(&frame).unwrap_or_default();
                                return Some((Ok(Event::default().data(text)), None));
                            }
                            None => return None,
                        },
                        _ = shutdown.cancelled() => return None,
                    }
                }
            },
            span.clone(),
        )
    })
}

#[derive(Deserialize)]
pub struct SendQuery {
    connection: u64,
}

/// `POST /events/send?connection={id}`: one client frame as the JSON body.
pub async fn send(
    State(state): State<AppState>,
    Query(query): Query<SendQuery>,
    user: Option<Extension<Authenticated>>,
    body: String,
) -> Response {
    let Some(Extension(Authenticated(user))) = user else {
        return error_response(ApiError::unauthenticated());
    };
    if body.len() > state.config.max_frame_bytes {
        return error_response(ApiError::new(
            ErrorCode::FrameTooLarge,
            format!(
                "Frames may be at most {} bytes.",
                state.config.max_frame_bytes
            ),
        ));
    }
    let reply = live::handle_text(
        &state.chat,
        &user,
        query.connection,
        &body,
        state.config.max_frame_bytes,
    )
    .await
    .resolve()
    .await;
    (StatusCode::OK, axum::Json(reply)).into_response()
}
