use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ConversationId, Theme};

/// Keeps the signed-in person's theme (`system`, `light` or `dark`) for all their pages.
#[server(endpoint = "set_theme")]
pub async fn set_theme(theme: Theme) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move { b.set_theme(&me, theme).await }).await
}

/// Mutes (or unmutes) a conversation for the signed-in person: no browser notifications
/// from it, and its messages leave the badge's count (its own count stays in the list).
#[server(endpoint = "set_muted")]
pub async fn set_muted(conversation_id: ConversationId, muted: bool) -> Result<(), ApiError> {
    super::backend::with_backend(
        |b, me| async move { b.set_muted(&me, conversation_id, muted).await },
    )
    .await
}
