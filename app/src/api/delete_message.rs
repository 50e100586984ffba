use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{Message, MessageId};

/// Deletes a message (the author's own, or any for admins): its text is gone for
/// everyone; it keeps its place and reads "Message deleted". Audited.
#[server(endpoint = "delete_message")]
pub async fn delete_message(message_id: MessageId) -> Result<Message, ApiError> {
    super::backend::with_backend(|b, me| async move { b.delete_message(&me, message_id).await })
        .await
}
