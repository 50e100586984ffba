//! The HTTP surface: the router (pages, server functions, `/ws`, sign-in, health), the
//! shared [`AppState`], the error envelope as an HTTP response, and the `Origin` check
//! used against cross-site requests and cross-site WebSockets.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};

use app::api::backend::SharedBackend;
use app::error::ApiError;

use crate::chat::Chat;
use crate::config::Config;
use crate::store::prelude::*;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub chat: Arc<Chat>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Cancelled on shutdown: live connections close with "going away".
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The error envelope as an HTTP response: the code's status and `{code, message}`.
pub fn error_response(error: ApiError) -> Response {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(error)).into_response()
}

/// Whether a request's `Origin` is this site (the origin its `Host` header names) or one
/// of the configured extra origins. Without an `Origin` header the answer is
/// `missing_ok`: browsers send it on every cross-site request that matters here.
pub fn origin_allowed(headers: &HeaderMap, extra: &[String], missing_ok: bool) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return missing_ok;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let own = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| !host.is_empty() && rest == host);
    own || extra.iter().any(|allowed| allowed == origin)
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let backend: SharedBackend = state.chat.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/ws", get(crate::ws::upgrade))
        .route("/events", get(crate::sse::stream))
        .route("/events/send", post(crate::sse::send))
        .route("/auth/login", post(crate::auth::login))
        .route("/auth/logout", post(crate::auth::logout))
        .route("/auth/password", post(crate::auth::change_password))
        .route(
            app::protocol::SESSION_PROBE,
            get(crate::auth::session_probe),
        )
        .route("/admin/export/{conversation}", get(export))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(backend.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::gate,
        ))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(state.chat.hub()),
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

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.user_count().await {
        Ok(_) => "ready".into_response(),
        Err(e) => {
            tracing::error!(error = %e, "not ready");
            error_response(ApiError::internal())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn own_origin_and_configured_origins_pass() {
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000"),
            &[],
            false
        ));
        assert!(origin_allowed(
            &headers(Some("https://ops.example"), "127.0.0.1:3000"),
            &["https://ops.example".into()],
            false
        ));
    }

    #[test]
    fn foreign_or_missing_origins_fail() {
        assert!(!origin_allowed(
            &headers(Some("http://evil.example"), "127.0.0.1:3000"),
            &[],
            true
        ));
        assert!(!origin_allowed(
            &headers(Some("http://127.0.0.1:3000.evil"), "127.0.0.1:3000"),
            &[],
            true
        ));
        assert!(!origin_allowed(
            &headers(None, "127.0.0.1:3000"),
            &[],
            false
        ));
        assert!(origin_allowed(&headers(None, "127.0.0.1:3000"), &[], true));
    }
}
