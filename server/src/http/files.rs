//! Attachments over HTTP: `POST /files?conversation_id=&name=` with the file as the body
//! (its type in `Content-Type`; the browser shows upload progress), and
//! `GET /files/{id}` / `GET /files/{id}/thumbnail` for whoever may see it, served with
//! `Content-Disposition` and `X-Content-Type-Options: nosniff` (images inline, anything
//! else as a download) under a CSP that runs nothing.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use app::api::backend::Authenticated;
use app::error::ApiError;
use app::model::{AttachmentId, ConversationId};

use crate::chat::attachments::too_large;
use crate::web::{AppState, error_response};

#[derive(serde::Deserialize)]
pub struct UploadQuery {
    conversation_id: i64,
    #[serde(default)]
    name: String,
}

pub async fn upload(
    State(state): State<AppState>,
    user: Option<axum::Extension<Authenticated>>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(axum::Extension(Authenticated(me))) = user else {
        return error_response(ApiError::unauthenticated());
    };
    let limit = state.chat.max_attachment_bytes();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return error_response(too_large(limit));
    }
    let Ok(bytes) = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await
    else {
        return error_response(too_large(limit));
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    match state
        .chat
        .upload(
            &me,
            ConversationId(query.conversation_id),
            &query.name,
            content_type,
            bytes.to_vec(),
        )
        .await
    {
        Ok(attachment) => axum::Json(attachment).into_response(),
        Err(error) => error_response(error),
    }
}

pub async fn file(
    state: State<AppState>,
    user: Option<axum::Extension<Authenticated>>,
    Path(id): Path<i64>,
) -> Response {
    serve(state, user, id, false).await
}

pub async fn thumbnail(
    state: State<AppState>,
    user: Option<axum::Extension<Authenticated>>,
    Path(id): Path<i64>,
) -> Response {
    serve(state, user, id, true).await
}

async fn serve(
    State(state): State<AppState>,
    user: Option<axum::Extension<Authenticated>>,
    id: i64,
    thumbnail: bool,
) -> Response {
    let Some(axum::Extension(Authenticated(me))) = user else {
        return error_response(ApiError::unauthenticated());
    };
    match state.chat.file(&me, AttachmentId(id), thumbnail).await {
        Ok(file) => {
            let inline = file.content_type.starts_with("image/");
            let disposition = format!(
                "{}; filename=\"{}\"; filename*=UTF-8''{}",
                if inline { "inline" } else { "attachment" },
                file.attachment
                    .name
                    .chars()
                    .map(|c| if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '_'
                    })
                    .collect::<String>(),
                percent(&file.attachment.name),
            );
            (
                [
                    (header::CONTENT_TYPE, file.content_type),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                    (
                        header::CONTENT_SECURITY_POLICY,
                        "default-src 'none'; sandbox".to_string(),
                    ),
                    (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
                ],
                file.bytes,
            )
                .into_response()
        }
        Err(error) => error_response(error),
    }
}

/// RFC 5987 percent-encoding for `filename*`.
fn percent(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
