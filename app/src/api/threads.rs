use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ConversationSummary, ThreadSubject};

/// The thread about an order, SKU or shipment (`order:1042`, `sku:ORA-TB-SOFT`,
/// `shipment:1Z4F7A`), created on first use: one per reference.
#[server(endpoint = "open_thread")]
pub async fn open_thread(reference: String) -> Result<ConversationSummary, ApiError> {
    let reference = crate::model::ThreadRef::parse(&reference)?;
    super::backend::with_backend(|b, me| async move { b.open_thread(&me, &reference).await }).await
}

/// The thread of order `number` (`order:{number}`), created on first use.
#[server(endpoint = "open_order_thread")]
pub async fn open_order_thread(number: i64) -> Result<ConversationSummary, ApiError> {
    let reference = crate::model::ThreadRef::Order(number);
    super::backend::with_backend(|b, me| async move { b.open_thread(&me, &reference).await }).await
}

/// What a thread is about: the orders concerned that the user may see, and the shipment.
#[server(endpoint = "thread_subject")]
pub async fn get_thread_subject(reference: String) -> Result<ThreadSubject, ApiError> {
    let reference = crate::model::ThreadRef::parse(&reference)?;
    super::backend::with_backend(|b, me| async move { b.thread_subject(&me, &reference).await })
        .await
}
