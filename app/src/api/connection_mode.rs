use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::ConnectionMode;

/// How browsers carry the live connection (admin setting).
#[server(endpoint = "connection_mode")]
pub async fn get_connection_mode() -> Result<ConnectionMode, ApiError> {
    super::backend::with_backend(|b, me| async move { b.connection_mode(&me).await }).await
}

/// Admins only: sets how browsers carry the live connection from their next page load.
#[server(endpoint = "set_connection_mode")]
pub async fn set_connection_mode(mode: ConnectionMode) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move { b.set_connection_mode(&me, mode).await })
        .await
}
