//! The browser's side of the live connection, in one place: open `/ws` (or, when
//! WebSockets are blocked or the admin chose it, `/events` plus POSTs), feed every server
//! frame to [`ChatState::apply`](crate::state::ChatState::apply), send what the state
//! queues, and reconnect with exponential backoff and jitter when the connection drops —
//! at once when the browser comes back online or the tab becomes visible — resuming after
//! the last event it has. It also reports whether the tab is in use (presence).
//! On the server these functions do nothing, so components can call them anywhere.

pub mod outbox;

#[cfg(feature = "hydrate")]
mod browser;
#[cfg(feature = "hydrate")]
pub mod notify;
#[cfg(feature = "hydrate")]
mod sse;
#[cfg(feature = "hydrate")]
mod upload;
#[cfg(feature = "hydrate")]
mod ws;

#[cfg(feature = "hydrate")]
pub use upload::upload;

/// Rendering on the server nothing is uploaded; this is never called there.
#[cfg(not(feature = "hydrate"))]
pub async fn upload(
    _conversation: crate::model::ConversationId,
    _file: web_sys::File,
    _progress: impl Fn(f64) + 'static,
) -> Result<crate::model::Attachment, crate::error::ApiError> {
    Err(crate::error::ApiError::internal())
}

#[cfg(feature = "hydrate")]
pub use browser::{connect, page_visible};

/// A fresh client id for a message: a time-ordered UUID (version 7), so the server's
/// idempotency index grows at its end instead of at a random page (BENCHMARKS.md), with
/// its random part from `crypto.getRandomValues`, which browsers offer on plain-HTTP
/// pages too (`crypto.randomUUID` needs HTTPS or localhost, so a self-hosted Parley at
/// `http://chat.internal:3000` could not send).
#[cfg(feature = "hydrate")]
pub fn new_client_id() -> crate::model::ClientId {
    let mut bytes = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        // No Web Crypto at all (very old browsers): Math.random is not secret, but ids
        // only need to be unique per user, which it gives.
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    uuid::Builder::from_unix_timestamp_millis(js_sys::Date::now() as u64, &bytes).into_uuid()
}

/// Rendering on the server nothing is sent; this is never called there.
#[cfg(not(feature = "hydrate"))]
pub fn new_client_id() -> crate::model::ClientId {
    uuid::Uuid::nil()
}

/// Rendering on the server nobody is notified; these are never called there.
#[cfg(not(feature = "hydrate"))]
pub mod notify {
    use crate::model::ConversationId;

    pub fn permission() -> Option<&'static str> {
        None
    }

    pub fn ask(_then: impl Fn(&'static str) + 'static) {}

    pub fn show(_c: ConversationId, _title: &str, _body: &str, _open: impl Fn() + 'static) {}
}

/// Rendering on the server: there is no connection to open.
#[cfg(not(feature = "hydrate"))]
pub fn connect(_state: crate::state::ChatState) {}

/// Rendering on the server: nobody is looking.
#[cfg(not(feature = "hydrate"))]
pub fn page_visible() -> bool {
    false
}
