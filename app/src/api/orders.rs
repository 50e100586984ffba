use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::Order;

/// The dashboard's orders the user may see.
#[server(endpoint = "orders")]
pub async fn list_orders() -> Result<Vec<Order>, ApiError> {
    super::backend::with_backend(|b, me| async move { b.orders(&me).await }).await
}

/// One order, if the user may see it.
#[server(endpoint = "order")]
pub async fn get_order(number: i64) -> Result<Order, ApiError> {
    super::backend::with_backend(|b, me| async move { b.order(&me, number).await }).await
}
