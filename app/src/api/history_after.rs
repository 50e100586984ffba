use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ConversationId, Message, Seq};

/// Messages with `seq > after`, oldest first, one page at most: how the browser fills a
/// gap it noticed in a conversation's `seq`.
#[server(endpoint = "history_after")]
pub async fn list_after(
    conversation_id: ConversationId,
    after: Seq,
) -> Result<Vec<Message>, ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.messages_after(&me, conversation_id, after).await
    })
    .await
}
