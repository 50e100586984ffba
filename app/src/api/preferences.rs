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

/// Whether the signed-in person is emailed about mentions and direct messages they leave
/// unread, and at which address.
#[server(endpoint = "email_preferences")]
pub async fn email_preferences() -> Result<crate::model::EmailPreferences, ApiError> {
    super::backend::with_backend(|b, me| async move { b.email_preferences(&me).await }).await
}

/// Turns those emails on or off for the signed-in person.
#[server(endpoint = "set_email_notifications")]
pub async fn set_email_notifications(enabled: bool) -> Result<(), ApiError> {
    super::backend::with_backend(
        |b, me| async move { b.set_email_notifications(&me, enabled).await },
    )
    .await
}
