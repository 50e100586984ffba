use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::ConversationSummary;

/// The thread of order `number` (`order:{number}`), created on first use.
#[server(endpoint = "open_order_thread")]
pub async fn open_order_thread(number: i64) -> Result<ConversationSummary, ApiError> {
    super::backend::with_backend(|b, me| async move { b.open_order_thread(&me, number).await })
        .await
}
