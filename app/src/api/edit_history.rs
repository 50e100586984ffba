use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{MessageId, MessageVersion};

/// Every text a message has had, oldest first, for anyone who can see it.
#[server(endpoint = "edit_history")]
pub async fn edit_history(message_id: MessageId) -> Result<Vec<MessageVersion>, ApiError> {
    super::backend::with_backend(|b, me| async move { b.edit_history(&me, message_id).await }).await
}
