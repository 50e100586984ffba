use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::ConversationSummary;

/// A conversation by its URL slug, if the user may see it.
#[server(endpoint = "conversation")]
pub async fn get_conversation(slug: String) -> Result<ConversationSummary, ApiError> {
    super::backend::with_backend(|b, me| async move { b.conversation_by_slug(&me, &slug).await })
        .await
}
