//! What every HTTP and live handler shares: the [`AppState`], the error envelope as an
//! HTTP response, and the `Origin` check used against cross-site requests and cross-site
//! WebSockets. Depends on nothing but the chat and the store, so the transports (`http`,
//! `auth`, `live`) need not import each other.

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::LeptosOptions;

use app::error::ApiError;

use crate::chat::Chat;
use crate::config::Config;
use crate::store::Store;

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
    /// The live WebSocket connections, which a shutdown waits for.
    pub connections: tokio_util::task::TaskTracker,
    /// The site's static files and the bundle's version.
    pub assets: Arc<crate::assets::Assets>,
    pub rate_limits: Arc<crate::rate::RateLimits>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The error envelope as an HTTP response: the code's status and `{code, message}`
/// (and `Retry-After` when it says how long to wait).
pub fn error_response(error: ApiError) -> Response {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = error.retry_after_secs();
    let mut response = (status, axum::Json(error)).into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    response
}

/// Text made safe for HTML content and quoted attributes (the few pages written by hand:
/// the embed notice, the demo host).
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The address a request counts against for rate limits (see [`crate::rate::client_address`]).
pub fn client_address(
    state: &AppState,
    peer: std::net::SocketAddr,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    crate::rate::client_address(
        peer.ip(),
        headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()),
        &state.config.trusted_proxies,
    )
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
