use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{
    AdminOverview, AdminSettings, ChannelSettings, ConversationId, ConversationSummary,
    IssuedPassword, OrganisationId, Role, UserId,
};

/// Users, organisations, channels, the audit log and settings (admins only).
#[server(endpoint = "admin_overview")]
pub async fn get_admin_overview() -> Result<AdminOverview, ApiError> {
    super::backend::with_backend(|b, me| async move { b.admin_overview(&me).await }).await
}

/// A new channel admitting `organisations` (admins only); it appears at once for everyone
/// it admits.
/// `roles` defaults to every role.
#[server(endpoint = "create_channel")]
pub async fn create_channel(
    name: String,
    organisations: Vec<OrganisationId>,
    #[server(default)] roles: Option<Vec<Role>>,
) -> Result<ConversationSummary, ApiError> {
    let roles = roles.unwrap_or_else(|| Role::ALL.to_vec());
    super::backend::with_backend(|b, me| async move {
        b.create_channel(&me, &name, &organisations, &roles).await
    })
    .await
}

/// Renames, archives or unarchives a channel, or changes whom it admits (admins only):
/// `settings` is its whole new state. Whoever it no longer admits loses it at once.
#[server(endpoint = "change_channel")]
pub async fn change_channel(
    conversation_id: ConversationId,
    settings: ChannelSettings,
) -> Result<ConversationSummary, ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.change_channel(&me, conversation_id, settings).await
    })
    .await
}

/// Gives someone another role or organisation (admins only). Their sessions end: they
/// sign in again and see what the new role admits.
#[server(endpoint = "change_user")]
pub async fn change_user(
    user_id: UserId,
    role: Role,
    organisation_id: OrganisationId,
) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move {
        b.change_user(&me, user_id, role, organisation_id).await
    })
    .await
}

/// New settings (admins only), within the limits the operator configured. Audited.
#[server(endpoint = "save_settings")]
pub async fn save_settings(settings: AdminSettings) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move { b.save_settings(&me, settings).await }).await
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
