use leptos::prelude::*;

use crate::error::ApiError;

/// How long after sending, in seconds, authors may edit their messages (admin setting).
#[server(endpoint = "edit_window")]
pub async fn get_edit_window() -> Result<i64, ApiError> {
    super::backend::with_backend(|b, me| async move { b.edit_window_secs(&me).await }).await
}

/// Admins only: sets the edit window, in seconds (0 turns editing off).
#[server(endpoint = "set_edit_window")]
pub async fn set_edit_window(secs: i64) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move { b.set_edit_window(&me, secs).await }).await
}
