use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{
    AdminOverview, ConversationSummary, IssuedPassword, OrganisationId, Role, UserId,
};

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

/// A new account with a one-time password, shown once (admins only).
#[server(endpoint = "create_user")]
pub async fn create_user(
    username: String,
    display_name: String,
    role: Role,
    organisation_id: OrganisationId,
) -> Result<IssuedPassword, ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.create_user(&me, &username, &display_name, role, organisation_id)
            .await
    })
    .await
}

/// Disables an account (its sessions end, its live connections close at once) or enables
/// it again (admins only).
#[server(endpoint = "set_user_disabled")]
pub async fn set_user_disabled(user_id: UserId, disabled: bool) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.set_user_disabled(&me, user_id, disabled).await
    })
    .await
}

/// A new one-time password for someone, shown once; their sessions end (admins only).
#[server(endpoint = "reset_password")]
pub async fn reset_password(user_id: UserId) -> Result<IssuedPassword, ApiError> {
    super::backend::with_backend(|b, me| async move { b.reset_password(&me, user_id).await }).await
}
