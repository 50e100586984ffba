use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::Person;

/// The people the user may start a direct message with.
#[server(endpoint = "people")]
pub async fn list_people() -> Result<Vec<Person>, ApiError> {
    super::backend::with_backend(|b, me| async move { b.people(&me).await }).await
}
