use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ConversationId, HistoryPage, Seq};

/// One page of a conversation's history, newest first: the latest page when `before`
/// is `None`, otherwise the messages just older than `seq` `before`.
#[server(endpoint = "history")]
pub async fn list_history(
    conversation_id: ConversationId,
    before: Option<Seq>,
) -> Result<HistoryPage, ApiError> {
    super::backend::with_backend(
        |b, me| async move { b.history(&me, conversation_id, before).await },
    )
    .await
}
