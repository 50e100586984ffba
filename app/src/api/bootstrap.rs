use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::Bootstrap;

/// Who is signed in and the conversations they can see, for the first paint.
#[server(endpoint = "bootstrap")]
pub async fn get_bootstrap() -> Result<Bootstrap, ApiError> {
    super::backend::with_backend(|b, me| async move { b.bootstrap(&me).await }).await
}
