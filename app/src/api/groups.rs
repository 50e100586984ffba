use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ConversationId, ConversationSummary, UserId};

/// Starts a group of the user and `members` (3–9 people in all; staff only), named
/// `name` or, without one, listed by its members' first names.
#[server(endpoint = "create_group")]
pub async fn create_group(
    members: Vec<UserId>,
    name: Option<String>,
) -> Result<ConversationSummary, ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.create_group(&me, &members, name.as_deref()).await
    })
    .await
}

/// Adds `members` to a group the user is in (staff only; 9 people at most).
#[server(endpoint = "add_to_group")]
pub async fn add_to_group(
    conversation_id: ConversationId,
    members: Vec<UserId>,
) -> Result<ConversationSummary, ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.add_to_group(&me, conversation_id, &members).await
    })
    .await
}

/// The user leaves a group: it goes from their list, and nothing new reaches them.
#[server(endpoint = "leave_group")]
pub async fn leave_group(conversation_id: ConversationId) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move { b.leave_group(&me, conversation_id).await })
        .await
}
