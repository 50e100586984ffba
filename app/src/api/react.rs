use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{Emoji, Message, MessageId};

/// Sets (`on`) or removes the user's reaction `emoji` on a message. Repeating it is
/// harmless.
#[server(endpoint = "react")]
pub async fn react(message_id: MessageId, emoji: Emoji, on: bool) -> Result<Message, ApiError> {
    super::backend::with_backend(|b, me| async move { b.react(&me, message_id, emoji, on).await })
        .await
}
