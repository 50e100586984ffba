//! The browser's side of the live connection, in one place: open `/ws` (or, when
//! WebSockets are blocked or the admin chose it, `/events` plus POSTs), feed every server
//! frame to [`ChatState::apply`](crate::ui::state::ChatState::apply), send what the state
//! queues, and reconnect with exponential backoff and jitter when the connection drops —
//! at once when the browser comes back online or the tab becomes visible — resuming after
//! the last event it has. It also reports whether the tab is in use (presence).
//! On the server these functions do nothing, so components can call them anywhere.

pub mod outbox;

#[cfg(feature = "hydrate")]
mod browser;
#[cfg(feature = "hydrate")]
mod sse;
#[cfg(feature = "hydrate")]
mod ws;

#[cfg(feature = "hydrate")]
pub use browser::{connect, page_visible};

/// Rendering on the server: there is no connection to open.
#[cfg(not(feature = "hydrate"))]
pub fn connect(_state: crate::ui::state::ChatState) {}

/// Rendering on the server: nobody is looking.
#[cfg(not(feature = "hydrate"))]
pub fn page_visible() -> bool {
    false
}
