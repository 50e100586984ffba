//! The REST API for integrations and bots (`/api/v1/…`), authenticated by personal access
//! tokens (`Authorization: Bearer parley_pat_…`, made at `/account`), described by
//! the OpenAPI document at `/api/openapi.json`, generated from these handlers and types
//! by `utoipa`.
//!
//! Every call goes through the same command path as the live connection: the same rules
//! for the token's owner, the same validation, the same ordered writer and fan-out (a
//! message posted here reaches open tabs like any other), the same rate limits (HTTP per
//! user; a post also counts as a frame). Errors are the usual envelope. Cookies are never
//! read here, so a browser cannot be made to call it (no CSRF).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use app::error::{ApiError, ErrorCode};
use app::model::{
    ApiScope, ConversationId, ConversationSummary, Message, MessageId, ThreadRef, User,
};

use crate::web::{AppState, client_address, error_response};

/// Where the API lives; the session gate and the cross-site check leave it to the token.
pub const PREFIX: &str = "/api/v1/";
pub const OPENAPI_PATH: &str = "/api/openapi.json";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/conversations", get(list_conversations))
        .route(
            "/api/v1/conversations/{id}/messages",
            get(read_messages).post(post_message),
        )
        .route("/api/v1/threads", post(open_thread))
        .route(OPENAPI_PATH, get(openapi))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Parley REST API",
        description = "Post messages, read history, list conversations and open order, SKU and shipment threads as the owner of a personal access token. Errors are `{code, message}` (and `retry_after_ms` with `rate_limited`).",
        version = "1"
    ),
    paths(list_conversations, read_messages, post_message, open_thread),
    components(schemas(
        ApiConversation,
        ApiMessage,
        ApiAttachment,
        ApiReaction,
        ApiHistory,
        PostMessage,
        Posted,
        OpenThread,
        ErrorBody
    )),
    modifiers(&BearerToken),
    security(("token" = []))
)]
struct ApiDoc;

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        openapi
            .components
            .get_or_insert_default()
            .add_security_scheme(
                "token",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("A personal access token, `parley_pat_…`"))
                        .build(),
                ),
            );
    }
}

/// `GET /api/openapi.json`: this API's description (open to anyone).
async fn openapi() -> Response {
    axum::Json(ApiDoc::openapi()).into_response()
}

/// The error envelope.
#[derive(Serialize, ToSchema)]
struct ErrorBody {
    /// `bad_request`, `unauthenticated`, `forbidden`, `not_found`, `empty_message`,
    /// `message_too_long`, `frame_too_large`, `rate_limited`, `internal`, …
    code: String,
    message: String,
    /// With `rate_limited`: milliseconds to wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    retry_after_ms: Option<u64>,
}

/// A conversation the token's owner can see.
#[derive(Serialize, ToSchema)]
struct ApiConversation {
    id: i64,
    /// `channel`, `direct`, `group` or `order` (order, SKU and shipment threads).
    kind: String,
    /// Its address in the web app: `/chat/{slug}`.
    slug: String,
    title: String,
    /// The newest message's sequence number (0 when empty).
    last_seq: i64,
    /// Messages by others the owner has not read.
    unread: u32,
    /// Of those, the ones mentioning the owner.
    mentions: u32,
}

impl From<ConversationSummary> for ApiConversation {
    fn from(c: ConversationSummary) -> Self {
        Self {
            id: c.id.0,
            kind: c.kind.as_str().to_string(),
            slug: c.slug,
            title: c.title,
            last_seq: c.last_seq,
            unread: c.unread,
            mentions: c.mentions,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct ApiAttachment {
    id: i64,
    name: String,
    content_type: String,
    size: u64,
    /// Served to whoever may see the conversation (with a session).
    url: String,
}

#[derive(Serialize, ToSchema)]
struct ApiReaction {
    /// One of SPEC §9's set: `thumbs_up`, `heart`, …
    emoji: String,
    count: usize,
}

#[derive(Serialize, ToSchema)]
struct ApiMessage {
    id: i64,
    conversation_id: i64,
    /// Its place in the conversation: 1, 2, 3, … without gaps.
    seq: i64,
    sender_id: i64,
    sender_name: String,
    /// Markdown source; empty once deleted.
    body: String,
    /// Unix time in milliseconds.
    created_at_ms: i64,
    /// 1 as sent; each edit adds one.
    version: u32,
    deleted: bool,
    /// The id of the message it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reply_to: Option<i64>,
    attachments: Vec<ApiAttachment>,
    reactions: Vec<ApiReaction>,
}

impl From<Message> for ApiMessage {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.0,
            conversation_id: m.conversation_id.0,
            seq: m.seq,
            sender_id: m.sender_id.0,
            sender_name: m.sender_name,
            body: m.body,
            created_at_ms: m.created_at_ms,
            version: m.version,
            deleted: m.deleted,
            reply_to: m.reply_to.map(|q| q.id.0),
            attachments: m
                .attachments
                .into_iter()
                .map(|a| ApiAttachment {
                    url: a.url(),
                    id: a.id.0,
                    name: a.name,
                    content_type: a.content_type,
                    size: a.size,
                })
                .collect(),
            reactions: m
                .reactions
                .into_iter()
                .map(|r| ApiReaction {
                    emoji: r.emoji.as_str().to_string(),
                    count: r.users.len(),
                })
                .collect(),
        }
    }
}

/// One page of history, oldest first.
#[derive(Serialize, ToSchema)]
struct ApiHistory {
    messages: Vec<ApiMessage>,
    /// Pass as `before` for the next older page; absent at the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    next_before: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PostMessage {
    /// Markdown, up to the message length limit, with some visible text.
    #[schema(min_length = 1)]
    body: String,
    /// Your id for this message (a UUID): posting it again returns the first answer
    /// instead of a second message. Made up by the server when absent.
    #[serde(default)]
    client_id: Option<uuid::Uuid>,
    /// The id of a message in the same conversation it answers.
    #[serde(default)]
    #[schema(minimum = 1)]
    reply_to: Option<i64>,
}

/// The message is stored (durably) and on its way to everyone in the conversation.
#[derive(Serialize, ToSchema)]
struct Posted {
    client_id: uuid::Uuid,
    id: i64,
    seq: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenThread {
    /// `order:1042`, `sku:AX-200` or `shipment:SH-77`.
    #[schema(pattern = "^(order|sku|shipment):[A-Za-z0-9-]+$")]
    reference: String,
}

/// The owner of the request's token, if it may do what `scope` allows; counted against
/// the owner's HTTP rate (a request with a bad token against its address's).
async fn caller(
    state: &AppState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
    scope: ApiScope,
) -> Result<User, Response> {
    let address = client_address(state, peer, headers);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let found = match token {
        Some(token) => state.chat.token_user(token).await,
        None => Err(ApiError::unauthenticated()),
    };
    let (user, scopes) = match found {
        Ok(found) => found,
        Err(error) => {
            if let Err(limited) = state.rate_limits.http(None, address) {
                return Err(error_response(limited.into()));
            }
            let mut refused = error_response(error);
            refused.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return Err(refused);
        }
    };
    if let Err(limited) = state.rate_limits.http(Some(user.id), address) {
        return Err(error_response(limited.into()));
    }
    if !scopes.contains(&scope) {
        return Err(error_response(ApiError::new(
            ErrorCode::Forbidden,
            "This token may only read.",
        )));
    }
    tracing::Span::current().record("user", user.username.as_str());
    Ok(user)
}

fn conversation_id(raw: &str) -> Result<ConversationId, Response> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(ConversationId)
        .ok_or_else(|| {
            error_response(ApiError::new(
                ErrorCode::BadRequest,
                "A conversation id is a positive whole number.",
            ))
        })
}

fn json_body<T: serde::de::DeserializeOwned>(state: &AppState, body: &[u8]) -> Result<T, Response> {
    if body.len() > state.config.max_frame_bytes {
        return Err(error_response(ApiError::new(
            ErrorCode::FrameTooLarge,
            format!(
                "A body may be at most {} bytes.",
                state.config.max_frame_bytes
            ),
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        error_response(ApiError::new(
            ErrorCode::BadRequest,
            format!("Not the JSON this takes: {e}"),
        ))
    })
}

/// The conversations the token's owner can see (as their list in the app shows them).
#[utoipa::path(
    get,
    path = "/api/v1/conversations",
    responses(
        (status = 200, body = [ApiConversation]),
        (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody),
    )
)]
async fn list_conversations(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let user = caller(&state, peer, &headers, ApiScope::Read).await?;
    let boot = state
        .chat
        .bootstrap(&user, None)
        .await
        .map_err(error_response)?;
    let list: Vec<ApiConversation> = boot.conversations.into_iter().map(Into::into).collect();
    Ok(axum::Json(list).into_response())
}

/// A page of a conversation's history, newest page first (`before` pages back).
#[utoipa::path(
    get,
    path = "/api/v1/conversations/{id}/messages",
    params(
        ("id" = i64, Path, minimum = 1, description = "The conversation"),
        ("before" = Option<i64>, Query, minimum = 1, description = "Only messages before this seq"),
    ),
    responses(
        (status = 200, body = ApiHistory),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such conversation, or not one the owner may see"),
        (status = 429, body = ErrorBody),
    )
)]
async fn read_messages(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let user = caller(&state, peer, &headers, ApiScope::Read).await?;
    let conversation = conversation_id(&id)?;
    let mut befores = query.iter().filter(|(k, _)| k == "before");
    let before = match (
        befores.next().map(|(_, v)| v.parse::<i64>()),
        befores.next(),
    ) {
        (None, _) => None,
        (Some(Ok(seq)), None) if seq > 0 => Some(seq),
        _ => {
            return Err(error_response(ApiError::new(
                ErrorCode::BadRequest,
                "before is a positive whole number.",
            )));
        }
    };
    let page = state
        .chat
        .history(&user, conversation, before)
        .await
        .map_err(error_response)?;
    Ok(axum::Json(ApiHistory {
        messages: page.messages.into_iter().map(ApiMessage::from).collect(),
        next_before: page.next_before,
    })
    .into_response())
}

/// Posts a message as the token's owner. Idempotent by `client_id`.
#[utoipa::path(
    post,
    path = "/api/v1/conversations/{id}/messages",
    params(("id" = i64, Path, minimum = 1, description = "The conversation")),
    request_body = PostMessage,
    responses(
        (status = 201, body = Posted),
        (status = 400, body = ErrorBody, description = "Invalid JSON, no visible text, too long"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The owner may not post there, or the token may only read"),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 429, body = ErrorBody),
    )
)]
async fn post_message(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let user = caller(&state, peer, &headers, ApiScope::Write).await?;
    let conversation = conversation_id(&id)?;
    let post: PostMessage = json_body(&state, &body)?;
    // A post is a send, as on the live connection.
    if let Err(limited) = state.rate_limits.send(user.id) {
        return Err(error_response(limited.into()));
    }
    let client_id = post.client_id.unwrap_or_else(uuid::Uuid::now_v7);
    let pending = state
        .chat
        .submit_message(
            &user,
            client_id,
            conversation,
            &post.body,
            post.reply_to.map(MessageId),
            &[],
        )
        .await
        .map_err(error_response)?;
    let ack = pending.await.map_err(error_response)?;
    let posted = Posted {
        client_id: ack.client_id,
        id: ack.id.0,
        seq: ack.seq,
    };
    Ok((StatusCode::CREATED, axum::Json(posted)).into_response())
}

/// Opens (or finds) the thread about an order, a SKU or a shipment.
#[utoipa::path(
    post,
    path = "/api/v1/threads",
    request_body = OpenThread,
    responses(
        (status = 200, body = ApiConversation),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such order, SKU or shipment, or not one the owner may see"),
        (status = 429, body = ErrorBody),
    )
)]
async fn open_thread(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let user = caller(&state, peer, &headers, ApiScope::Write).await?;
    let open: OpenThread = json_body(&state, &body)?;
    let reference = ThreadRef::parse(&open.reference).map_err(error_response)?;
    let summary = state
        .chat
        .open_thread(&user, &reference)
        .await
        .map_err(error_response)?;
    Ok(axum::Json(ApiConversation::from(summary)).into_response())
}
