use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ConversationSummary, UserId};

/// The direct conversation between the user and `other`, created on first use.
#[server(endpoint = "open_direct")]
pub async fn open_direct(other: UserId) -> Result<ConversationSummary, ApiError> {
    super::backend::with_backend(|b, me| async move { b.open_direct(&me, other).await }).await
}
