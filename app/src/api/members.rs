use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ConversationId, User};

/// The people who can see a conversation (its members panel, and whom `@` may mention),
/// by display name.
#[server(endpoint = "members")]
pub async fn list_members(conversation_id: ConversationId) -> Result<Vec<User>, ApiError> {
    super::backend::with_backend(|b, me| async move { b.members(&me, conversation_id).await }).await
}
