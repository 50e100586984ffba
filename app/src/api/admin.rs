use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{AdminOverview, ConversationSummary, OrganisationId};

/// Users, organisations, channels, the audit log and settings (admins only).
#[server(endpoint = "admin_overview")]
pub async fn get_admin_overview() -> Result<AdminOverview, ApiError> {
    super::backend::with_backend(|b, me| async move { b.admin_overview(&me).await }).await
}

/// A new channel admitting `organisations` (admins only); it appears at once for everyone
/// it admits.
#[server(endpoint = "create_channel")]
pub async fn create_channel(
    name: String,
    organisations: Vec<OrganisationId>,
) -> Result<ConversationSummary, ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.create_channel(&me, &name, &organisations).await
    })
    .await
}
