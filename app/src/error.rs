//! The one error Parley shows the world: a stable `code`, a human `message`, and the HTTP
//! status it maps to. The same envelope travels in server-function responses, REST
//! responses and WebSocket `error` frames. It never carries SQL, paths or stack traces:
//! the server logs those with a request id and sends `internal`.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in words a client can branch on. Serialized in `snake_case`;
/// these strings are part of the protocol and never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is well-formed but a field is invalid.
    BadRequest,
    /// No valid session.
    Unauthenticated,
    /// The rules do not allow this user to do this.
    Forbidden,
    /// No such thing, or the user may not know it exists.
    NotFound,
    /// A message with no visible text.
    EmptyMessage,
    /// A message over the configured length limit.
    MessageTooLong,
    /// A WebSocket frame that is not valid protocol JSON.
    MalformedFrame,
    /// A WebSocket frame or HTTP body over the configured size limit.
    FrameTooLarge,
    /// The change was based on an out-of-date version (another edit landed first).
    Conflict,
    /// The message is older than the edit window allows.
    EditWindowClosed,
    /// Too many requests; try again later.
    RateLimited,
    /// The database cannot be reached just now; nothing was written. Try again later
    /// (`retry_after_ms`): a browser keeps the message in its outbox and resends it.
    Unavailable,
    /// Something failed on the server; details are in its log.
    Internal,
}

impl ErrorCode {
    /// The HTTP status this code is sent with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::EmptyMessage
            | ErrorCode::MessageTooLong
            | ErrorCode::MalformedFrame => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden | ErrorCode::EditWindowClosed => 403,
            ErrorCode::Conflict => 409,
            ErrorCode::NotFound => 404,
            ErrorCode::FrameTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// The wire spelling, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::EmptyMessage => "empty_message",
            ErrorCode::MessageTooLong => "message_too_long",
            ErrorCode::MalformedFrame => "malformed_frame",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::Conflict => "conflict",
            ErrorCode::EditWindowClosed => "edit_window_closed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error envelope: `{"code": "...", "message": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// With `rate_limited` and `unavailable`: how long to wait before trying again, in milliseconds (over
    /// HTTP also as a `Retry-After` header, in whole seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// Too many requests: try again after `wait`.
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        Self {
            code: ErrorCode::RateLimited,
            message: format!("Too many requests. Try again in {} s.", ms.div_ceil(1000)),
            retry_after_ms: Some(ms),
        }
    }

    /// `Retry-After` in whole seconds (at least 1), for a `rate_limited` error.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_ms.map(|ms| ms.div_ceil(1000).max(1))
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "Please sign in.")
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "You are not allowed to do that.")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what}."))
    }

    /// The only message a client ever sees for a server-side failure.
    /// The database cannot be reached; try again after `wait`.
    pub fn unavailable(wait: std::time::Duration) -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: "The server cannot reach its database just now. Nothing was lost; \
                      trying again shortly."
                .into(),
            retry_after_ms: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)),
        }
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "Something went wrong on the server. Please try again.",
        )
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => Self::new(
                ErrorCode::Internal,
                "Could not reach the server. Check your connection.",
            ),
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::MissingArg(m)
            | ServerFnErrorErr::Deserialization(m) => Self::new(ErrorCode::BadRequest, m),
            _ => Self::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_code_and_message() {
        let e = ApiError::new(ErrorCode::MessageTooLong, "too long");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"code":"message_too_long","message":"too long"}"#);
        assert_eq!(serde_json::from_str::<ApiError>(&json).unwrap(), e);
    }

    #[test]
    fn a_rate_limited_envelope_says_how_long_to_wait() {
        let e = ApiError::rate_limited(std::time::Duration::from_millis(1_200));
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"code":"rate_limited","message":"Too many requests. Try again in 2 s.","retry_after_ms":1200}"#
        );
        assert_eq!(e.retry_after_secs(), Some(2));
        assert_eq!(
            ApiError::rate_limited(std::time::Duration::from_millis(20)).retry_after_secs(),
            Some(1)
        );
    }

    #[test]
    fn code_spelling_matches_serde() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::EmptyMessage,
            ErrorCode::MessageTooLong,
            ErrorCode::MalformedFrame,
            ErrorCode::FrameTooLarge,
            ErrorCode::Conflict,
            ErrorCode::EditWindowClosed,
            ErrorCode::RateLimited,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!((400..=500).contains(&code.http_status()));
        }
    }
}
