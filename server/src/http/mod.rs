//! The HTTP surface: the router (pages, server functions, `/ws`, sign-in, health,
//! exports) and the few handlers too small for a module of their own. What handlers
//! share (the state, the error response, the `Origin` check) is in [`crate::web`].

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};

use app::api::backend::SharedBackend;
use app::error::ApiError;

use crate::web::{AppState, error_response};

mod files;
pub mod rest;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let backend: SharedBackend = state.chat.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/ws", get(crate::live::ws::upgrade))
        .route("/events", get(crate::live::sse::stream))
        .route("/events/send", post(crate::live::sse::send))
        .route("/auth/login", post(crate::auth::login))
        .route("/auth/logout", post(crate::auth::logout))
        .route("/auth/password", post(crate::auth::change_password))
        .route("/auth/sso", post(crate::auth::sso::sign_in))
        .route(
            app::protocol::SESSION_PROBE,
            get(crate::auth::session_probe),
        )
        .route("/admin/export/{conversation}", get(export))
        .route(
            "/files",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/files/{id}", get(files::file))
        .route("/files/{id}/thumbnail", get(files::thumbnail))
        .route("/pkg/{version}/{file}", get(crate::assets::bundle))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(rest::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(backend.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(crate::assets::file_or_not_found)
        .layer(axum::middleware::from_fn(server_fn_status))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(compression())
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .with_state(state)
}

/// Every request's span: its id (`X-Request-Id`, made here unless a proxy sent one; it
/// is sent back too), method and path (never the query: it may hold a `next` or a
/// token), and the user once the session is known ([`crate::auth::gate`] records it).
/// Everything logged while serving it, an `internal` error's cause included, carries them.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or("invalid");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        user = tracing::field::Empty,
    )
}

/// Pages and server-function answers compressed as they are sent (brotli or gzip, quickly).
/// Not a WebSocket's upgrade, nor Server-Sent Events (each event must go out at once),
/// nor what is compressed already (the bundle) or too small to gain.
fn compression() -> tower_http::compression::CompressionLayer<
    tower_http::compression::predicate::And<
        tower_http::compression::DefaultPredicate,
        fn(
            axum::http::StatusCode,
            axum::http::Version,
            &axum::http::HeaderMap,
            &axum::http::Extensions,
        ) -> bool,
    >,
> {
    use tower_http::compression::predicate::Predicate;
    fn not_an_upgrade(
        status: axum::http::StatusCode,
        _: axum::http::Version,
        _: &axum::http::HeaderMap,
        _: &axum::http::Extensions,
    ) -> bool {
        status != axum::http::StatusCode::SWITCHING_PROTOCOLS
    }
    let predicate = tower_http::compression::DefaultPredicate::new().and(
        not_an_upgrade
            as fn(
                axum::http::StatusCode,
                axum::http::Version,
                &axum::http::HeaderMap,
                &axum::http::Extensions,
            ) -> bool,
    );
    tower_http::compression::CompressionLayer::new()
        .quality(tower_http::compression::CompressionLevel::Fastest)
        .compress_when(predicate)
}

/// Headers every answer carries unless it set its own:
/// - who may show it in a frame: the widget's page (`/embed`) the embedding origins
///   (`PARLEY_EMBED_ORIGINS`), everything else only Parley itself. Added to a page's own
///   policy (its scripts, see `app::api::backend::script_policy`); an answer whose policy
///   already names its frame-ancestors (the embed notice, files) keeps it;
/// - `X-Content-Type-Options: nosniff` (a file is what its type says);
/// - `Referrer-Policy: same-origin` (conversation and order addresses stay here).
async fn security_headers(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let embed = request.uri().path() == app::protocol::EMBED_PAGE;
    let mut response = next.run(request).await;
    let own = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if own
        .as_deref()
        .is_none_or(|p| !p.contains("frame-ancestors"))
    {
        let mut ancestors = vec!["'self'"];
        if embed {
            ancestors.extend(
                state
                    .config
                    .embed_origins
                    .iter()
                    .map(String::as_str)
                    .filter(|o| !o.contains(|c: char| c.is_whitespace() || c == ';' || c == ',')),
            );
        }
        let frames = format!("frame-ancestors {}", ancestors.join(" "));
        let policy = match own {
            Some(own) => format!("{own}; {frames}"),
            None => frames,
        };
        if let Ok(value) = header::HeaderValue::from_str(&policy) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(header::HeaderValue::from_static("nosniff"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(header::HeaderValue::from_static("same-origin"));
    response
}

/// Counts a request against its user's (or, without a session, its address's) HTTP rate
/// limit; over it, `rate_limited` with `Retry-After`. The bundle, the site's static files,
/// health checks and the scraper are not counted.
async fn rate_limit(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let uncounted = path.starts_with("/pkg/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
        // Counted by its token's owner (or, refused, its address) in `rest`.
        || path.starts_with(rest::PREFIX)
        || path.rsplit('/').next().is_some_and(|last| last.contains('.'));
    if !uncounted {
        let user = request
            .extensions()
            .get::<app::api::backend::Authenticated>()
            .map(|a| a.0.id);
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let address = crate::web::client_address(&state, peer, request.headers());
        if let Err(limited) = state.rate_limits.http(user, address) {
            tracing::info!(%path, %address, user = ?user, "rate limited");
            return error_response(limited.into());
        }
    }
    next.run(request).await
}

/// The most of a failed server function's answer that is read to find its error code.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A server function whose arguments do not decode (`conversation_id=abc`, a number out
/// of range, an oversized form) fails before it runs, so nothing sets its status: Leptos
/// answers 500 with our `bad_request` envelope. The status is made the envelope's.
async fn server_fn_status(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !api || response.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ERROR_BODY_LIMIT).await else {
        return error_response(ApiError::internal());
    };
    if let Ok(error) = serde_json::from_slice::<ApiError>(&bytes)
        && let Ok(status) = axum::http::StatusCode::from_u16(error.code.http_status())
    {
        parts.status = status;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn healthz() -> &'static str {
    "ok"
}

/// `/metrics`, for a scraper holding `PARLEY_METRICS_TOKEN`; off without the setting.
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    use sha2::{Digest, Sha256};
    let Some(token) = state.config.metrics_token.as_ref() else {
        return error_response(ApiError::not_found("page"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Digests compared, so the time taken says nothing about the token.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(token.expose()) {
        let mut refused = error_response(ApiError::unauthenticated());
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return refused;
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(state.chat.hub(), state.store.as_ref()),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

/// `GET /admin/export/{conversation}?format=json|csv`: a conversation as a download
/// (admins only; audited).
async fn export(
    State(state): State<AppState>,
    user: Option<axum::Extension<app::api::backend::Authenticated>>,
    axum::extract::Path(conversation): axum::extract::Path<i64>,
    axum::extract::Query(query): axum::extract::Query<ExportQuery>,
) -> Response {
    use crate::chat::admin::ExportFormat;
    let Some(axum::Extension(app::api::backend::Authenticated(me))) = user else {
        return error_response(ApiError::unauthenticated());
    };
    let format = match query.format.as_deref() {
        None | Some("json") => ExportFormat::Json,
        Some("csv") => ExportFormat::Csv,
        Some(_) => {
            return error_response(ApiError::new(
                app::error::ErrorCode::BadRequest,
                "format is json or csv.",
            ));
        }
    };
    match state
        .chat
        .export(&me, app::model::ConversationId(conversation), format)
        .await
    {
        Ok(export) => (
            [
                (header::CONTENT_TYPE, export.content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", export.file_name),
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            export.body,
        )
            .into_response(),
        Err(error) => error_response(error),
    }
}

/// Ready when the database answers; `unavailable` (503) when it cannot be reached, so
/// a load balancer sends users elsewhere.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.user_count().await {
        Ok(_) => "ready".into_response(),
        Err(e) => error_response(e.to_api("not ready")),
    }
}
