use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::Theme;

/// Keeps the signed-in person's theme (`system`, `light` or `dark`) for all their pages.
#[server(endpoint = "set_theme")]
pub async fn set_theme(theme: Theme) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move { b.set_theme(&me, theme).await }).await
}
