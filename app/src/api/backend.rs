//! The seam between the server functions (compiled into `app`) and the server that
//! implements them (the `server` crate, which `app` cannot depend on). The server
//! provides an [`SharedBackend`] through Leptos context and puts the signed-in user into
//! each request's extensions as [`Authenticated`].

use std::sync::Arc;

use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{
    AdminOverview, AdminSettings, Bootstrap, ChannelSettings, ConnectionMode, ConversationId,
    ConversationSummary, Emoji, HistoryPage, IssuedPassword, Message, MessageId, MessageVersion,
    Order, OrganisationId, Person, Role, Seq, Theme, ThreadRef, ThreadSubject, User, UserId,
};
use crate::search::SearchResults;

/// The signed-in user of the current request, placed in the request's extensions by the
/// server's session middleware.
#[derive(Clone, Debug)]
pub struct Authenticated(pub User);

/// Everything the server functions ask of the server. Every method checks the rules for
/// `me` itself: callers pass only who is asking.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn bootstrap(&self, me: &User, open: Option<&str>) -> Result<Bootstrap, ApiError>;
    async fn conversation_by_slug(
        &self,
        me: &User,
        slug: &str,
    ) -> Result<ConversationSummary, ApiError>;
    async fn history(
        &self,
        me: &User,
        conversation: ConversationId,
        before: Option<Seq>,
    ) -> Result<HistoryPage, ApiError>;
    async fn messages_after(
        &self,
        me: &User,
        conversation: ConversationId,
        after: Seq,
    ) -> Result<Vec<Message>, ApiError>;
    async fn people(&self, me: &User) -> Result<Vec<Person>, ApiError>;
    async fn members(&self, me: &User, conversation: ConversationId)
    -> Result<Vec<User>, ApiError>;
    async fn open_direct(&self, me: &User, other: UserId) -> Result<ConversationSummary, ApiError>;
    async fn orders(&self, me: &User) -> Result<Vec<Order>, ApiError>;
    async fn order(&self, me: &User, number: i64) -> Result<Order, ApiError>;
    async fn open_thread(
        &self,
        me: &User,
        reference: &ThreadRef,
    ) -> Result<ConversationSummary, ApiError>;
    async fn thread_subject(
        &self,
        me: &User,
        reference: &ThreadRef,
    ) -> Result<ThreadSubject, ApiError>;
    async fn connection_mode(&self, me: &User) -> Result<ConnectionMode, ApiError>;
    async fn set_connection_mode(&self, me: &User, mode: ConnectionMode) -> Result<(), ApiError>;
    async fn edit_message(
        &self,
        me: &User,
        message: MessageId,
        version: u32,
        body: &str,
    ) -> Result<Message, ApiError>;
    async fn delete_message(&self, me: &User, message: MessageId) -> Result<Message, ApiError>;
    async fn react(
        &self,
        me: &User,
        message: MessageId,
        emoji: Emoji,
        on: bool,
    ) -> Result<Message, ApiError>;
    async fn edit_history(
        &self,
        me: &User,
        message: MessageId,
    ) -> Result<Vec<MessageVersion>, ApiError>;
    async fn search(&self, me: &User, query: &str) -> Result<SearchResults, ApiError>;
    async fn admin_overview(&self, me: &User) -> Result<AdminOverview, ApiError>;
    async fn create_user(
        &self,
        me: &User,
        username: &str,
        display_name: &str,
        role: Role,
        organisation: OrganisationId,
    ) -> Result<IssuedPassword, ApiError>;
    async fn set_user_disabled(
        &self,
        me: &User,
        user: UserId,
        disabled: bool,
    ) -> Result<(), ApiError>;
    async fn reset_password(&self, me: &User, user: UserId) -> Result<IssuedPassword, ApiError>;
    async fn create_channel(
        &self,
        me: &User,
        name: &str,
        organisations: &[OrganisationId],
        roles: &[Role],
    ) -> Result<ConversationSummary, ApiError>;
    async fn change_channel(
        &self,
        me: &User,
        conversation: ConversationId,
        settings: ChannelSettings,
    ) -> Result<ConversationSummary, ApiError>;
    async fn change_user(
        &self,
        me: &User,
        user: UserId,
        role: Role,
        organisation: OrganisationId,
    ) -> Result<(), ApiError>;
    async fn create_group(
        &self,
        me: &User,
        members: &[UserId],
        name: Option<&str>,
    ) -> Result<ConversationSummary, ApiError>;
    async fn add_to_group(
        &self,
        me: &User,
        conversation: ConversationId,
        members: &[UserId],
    ) -> Result<ConversationSummary, ApiError>;
    async fn leave_group(&self, me: &User, conversation: ConversationId) -> Result<(), ApiError>;
    async fn edit_window_secs(&self, me: &User) -> Result<i64, ApiError>;
    async fn set_edit_window(&self, me: &User, secs: i64) -> Result<(), ApiError>;
    async fn save_settings(&self, me: &User, settings: AdminSettings) -> Result<(), ApiError>;
    async fn set_theme(&self, me: &User, theme: Theme) -> Result<(), ApiError>;
    async fn set_muted(
        &self,
        me: &User,
        conversation: ConversationId,
        muted: bool,
    ) -> Result<(), ApiError>;
    async fn api_tokens(&self, me: &User) -> Result<Vec<crate::model::ApiToken>, ApiError>;
    async fn create_api_token(
        &self,
        me: &User,
        name: &str,
        write: bool,
    ) -> Result<crate::model::IssuedToken, ApiError>;
    async fn revoke_api_token(&self, me: &User, id: i64) -> Result<(), ApiError>;
    async fn email_preferences(
        &self,
        me: &User,
    ) -> Result<crate::model::EmailPreferences, ApiError>;
    async fn set_email_notifications(&self, me: &User, enabled: bool) -> Result<(), ApiError>;
}

/// How the backend travels in Leptos context.
pub type SharedBackend = Arc<dyn Backend>;

/// The backend and the signed-in user, or `unauthenticated`.
pub fn context() -> Result<(SharedBackend, User), ApiError> {
    let backend = use_context::<SharedBackend>().ok_or_else(ApiError::internal)?;
    let user = current_user().ok_or_else(ApiError::unauthenticated)?;
    Ok((backend, user))
}

/// The signed-in user of the request being handled, if any.
pub fn current_user() -> Option<User> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Authenticated>().map(|a| a.0.clone()))
}

/// Sets the HTTP status of a server-function response from its error code.
pub fn fail<T>(error: ApiError) -> Result<T, ApiError> {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = axum::http::StatusCode::from_u16(error.code.http_status())
    {
        res.set_status(status);
    }
    Err(error)
}

/// The page's scripts policy: only its own files and the inline scripts Leptos writes
/// with this render's nonce (hydration, resources), WebAssembly compiled, no plugins, no
/// `<base>`, workers from this site. No `unsafe-inline`. (`frame-ancestors` is added by
/// the server for every answer.)
pub fn script_policy(nonce: &str) -> String {
    format!(
        "script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; worker-src 'self'; \
         object-src 'none'; base-uri 'none'"
    )
}

/// Sends the page being rendered with [`script_policy`] for its nonce.
pub fn respond_with_script_policy() {
    let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&script_policy(&nonce)) {
        res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Makes the page being rendered answer `404 Not Found`.
pub fn respond_not_found() {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}

/// Makes the page being rendered answer `403 Forbidden`.
pub fn respond_forbidden() {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::FORBIDDEN);
    }
}

/// Runs a backend call for the signed-in user, mapping errors to their HTTP status.
pub async fn with_backend<T, F, Fut>(f: F) -> Result<T, ApiError>
where
    F: FnOnce(SharedBackend, User) -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let (backend, user) = match context() {
        Ok(ctx) => ctx,
        Err(e) => return fail(e),
    };
    match f(backend, user).await {
        Ok(v) => Ok(v),
        Err(e) => fail(e),
    }
}
