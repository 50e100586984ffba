//! The browser's side of the live connection, in one place: open `/ws`, feed every
//! server frame to [`ChatState::apply`](crate::ui::state::ChatState::apply), send what
//! the state queues, and reconnect with exponential backoff and jitter when the socket
//! drops (at once when the browser comes back online). On the server these functions
//! do nothing, so components can call them unconditionally.

#[cfg(feature = "hydrate")]
mod socket;
#[cfg(feature = "hydrate")]
pub use socket::connect;

/// Rendering on the server: there is no connection to open.
#[cfg(not(feature = "hydrate"))]
pub fn connect(_state: crate::ui::state::ChatState) {}
