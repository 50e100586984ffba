use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::Bootstrap;

/// Who is signed in and their conversation list, for the first paint. `open` names the
/// conversation the page shows (`/chat/{open}`): it is in the list even when the list
/// would not hold it (an order thread neither followed nor recently active).
#[server(endpoint = "bootstrap")]
pub async fn get_bootstrap(#[server(default)] open: Option<String>) -> Result<Bootstrap, ApiError> {
    super::backend::with_backend(|b, me| async move { b.bootstrap(&me, open.as_deref()).await })
        .await
}
