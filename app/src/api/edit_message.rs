use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{Message, MessageId};

/// Replaces the text of one of the user's own messages, within the edit window.
/// `version` is the version being replaced: if another edit landed first, the answer is
/// `conflict` and nothing changes.
#[server(endpoint = "edit_message")]
pub async fn edit_message(
    message_id: MessageId,
    version: u32,
    body: String,
) -> Result<Message, ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.edit_message(&me, message_id, version, &body).await
    })
    .await
}
