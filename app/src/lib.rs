#![recursion_limit = "256"]
//! Parley's shared crate, compiled for the server (`ssr`) and to WebAssembly (`hydrate`).
//!
//! - [`account`]: where sign-in forms lead, what a new password must be
//! - [`model`]: wire types (users, conversations, messages) and input checks
//! - [`protocol`]: every live frame, as serde enums
//! - [`rules`]: who may do what (SPEC.md §4), pure functions
//! - [`search`]: what a search asks for (words, phrases, operators)
//! - [`error`]: the one error envelope
//! - [`markdown`]: the Markdown subset, rendered safely the same way on both sides
//! - [`api`]: server functions (history, lists, opening conversations)
//! - [`state`]: the browser's picture of the chat, shared by the views and the connection
//! - [`ui`]: Leptos components and pages
//! - [`client`]: the browser's live connection (a no-op on the server)

pub mod account;
pub mod api;
pub mod client;
pub mod error;
pub mod markdown;
pub mod model;
pub mod protocol;
pub mod rules;
pub mod search;
pub mod state;
pub mod ui;

pub use ui::{App, shell};
