//! The server functions' [`Backend`]: each call goes straight to the command path.

use app::api::backend::Backend;
use app::error::ApiError;
use app::model::{
    AdminOverview, AdminSettings, Bootstrap, ChannelSettings, ConnectionMode, ConversationId,
    ConversationSummary, Emoji, HistoryPage, IssuedPassword, Message, MessageId, MessageVersion,
    Order, OrganisationId, Person, Role, Seq, Theme, ThreadRef, ThreadSubject, User, UserId,
};
use app::search::SearchResults;

use super::Chat;

#[async_trait::async_trait]
impl Backend for Chat {
    async fn bootstrap(&self, me: &User, open: Option<&str>) -> Result<Bootstrap, ApiError> {
        Chat::bootstrap(self, me, open).await
    }

    async fn conversation_by_slug(
        &self,
        me: &User,
        slug: &str,
    ) -> Result<ConversationSummary, ApiError> {
        Chat::conversation_by_slug(self, me, slug).await
    }

    async fn history(
        &self,
        me: &User,
        conversation: ConversationId,
        before: Option<Seq>,
    ) -> Result<HistoryPage, ApiError> {
        Chat::history(self, me, conversation, before).await
    }

    async fn messages_after(
        &self,
        me: &User,
        conversation: ConversationId,
        after: Seq,
    ) -> Result<Vec<Message>, ApiError> {
        Chat::messages_after(self, me, conversation, after).await
    }

    async fn people(&self, me: &User) -> Result<Vec<Person>, ApiError> {
        Chat::people(self, me).await
    }

    async fn members(
        &self,
        me: &User,
        conversation: ConversationId,
    ) -> Result<Vec<User>, ApiError> {
        Chat::members(self, me, conversation).await
    }

    async fn open_direct(&self, me: &User, other: UserId) -> Result<ConversationSummary, ApiError> {
        Chat::open_direct(self, me, other).await
    }

    async fn orders(&self, me: &User) -> Result<Vec<Order>, ApiError> {
        Chat::orders(self, me).await
    }

    async fn order(&self, me: &User, number: i64) -> Result<Order, ApiError> {
        Chat::order(self, me, number).await
    }

    async fn open_thread(
        &self,
        me: &User,
        reference: &ThreadRef,
    ) -> Result<ConversationSummary, ApiError> {
        Chat::open_thread(self, me, reference).await
    }

    async fn thread_subject(
        &self,
        me: &User,
        reference: &ThreadRef,
    ) -> Result<ThreadSubject, ApiError> {
        Chat::thread_subject(self, me, reference).await
    }

    async fn connection_mode(&self, _me: &User) -> Result<ConnectionMode, ApiError> {
        Chat::connection_mode(self).await
    }

    async fn set_connection_mode(&self, me: &User, mode: ConnectionMode) -> Result<(), ApiError> {
        Chat::set_connection_mode(self, me, mode).await
    }

    async fn edit_message(
        &self,
        me: &User,
        message: MessageId,
        version: u32,
        body: &str,
    ) -> Result<Message, ApiError> {
        Chat::edit_message(self, me, message, version, body).await
    }

    async fn delete_message(&self, me: &User, message: MessageId) -> Result<Message, ApiError> {
        Chat::delete_message(self, me, message).await
    }

    async fn react(
        &self,
        me: &User,
        message: MessageId,
        emoji: Emoji,
        on: bool,
    ) -> Result<Message, ApiError> {
        Chat::react(self, me, message, emoji, on).await
    }

    async fn edit_history(
        &self,
        me: &User,
        message: MessageId,
    ) -> Result<Vec<MessageVersion>, ApiError> {
        Chat::edit_history(self, me, message).await
    }

    async fn search(&self, me: &User, query: &str) -> Result<SearchResults, ApiError> {
        Chat::search(self, me, query).await
    }

    async fn set_muted(
        &self,
        me: &User,
        conversation: ConversationId,
        muted: bool,
    ) -> Result<(), ApiError> {
        Chat::set_muted(self, me, conversation, muted).await
    }

    async fn api_tokens(&self, me: &User) -> Result<Vec<app::model::ApiToken>, ApiError> {
        Chat::api_tokens(self, me).await
    }

    async fn create_api_token(
        &self,
        me: &User,
        name: &str,
        write: bool,
    ) -> Result<app::model::IssuedToken, ApiError> {
        Chat::create_api_token(self, me, name, write).await
    }

    async fn revoke_api_token(&self, me: &User, id: i64) -> Result<(), ApiError> {
        Chat::revoke_api_token(self, me, id).await
    }

    async fn email_preferences(&self, me: &User) -> Result<app::model::EmailPreferences, ApiError> {
        Chat::email_preferences(self, me).await
    }

    async fn set_email_notifications(&self, me: &User, enabled: bool) -> Result<(), ApiError> {
        Chat::set_email_notifications(self, me, enabled).await
    }

    async fn set_theme(&self, me: &User, theme: Theme) -> Result<(), ApiError> {
        self.store
            .set_theme(me.id, theme)
            .await
            .map_err(super::internal)
    }

    async fn admin_overview(&self, me: &User) -> Result<AdminOverview, ApiError> {
        Chat::admin_overview(self, me).await
    }

    async fn create_user(
        &self,
        me: &User,
        username: &str,
        display_name: &str,
        role: Role,
        organisation: OrganisationId,
    ) -> Result<IssuedPassword, ApiError> {
        Chat::create_user(self, me, username, display_name, role, organisation).await
    }

    async fn set_user_disabled(
        &self,
        me: &User,
        user: UserId,
        disabled: bool,
    ) -> Result<(), ApiError> {
        Chat::set_user_disabled(self, me, user, disabled).await
    }

    async fn reset_password(&self, me: &User, user: UserId) -> Result<IssuedPassword, ApiError> {
        Chat::reset_password(self, me, user).await
    }

    async fn create_channel(
        &self,
        me: &User,
        name: &str,
        organisations: &[OrganisationId],
        roles: &[Role],
    ) -> Result<ConversationSummary, ApiError> {
        Chat::create_channel(self, me, name, organisations, roles).await
    }

    async fn change_channel(
        &self,
        me: &User,
        conversation: ConversationId,
        settings: ChannelSettings,
    ) -> Result<ConversationSummary, ApiError> {
        Chat::change_channel(self, me, conversation, settings).await
    }

    async fn change_user(
        &self,
        me: &User,
        user: UserId,
        role: Role,
        organisation: OrganisationId,
    ) -> Result<(), ApiError> {
        Chat::change_user(self, me, user, role, organisation).await
    }

    async fn create_group(
        &self,
        me: &User,
        members: &[UserId],
        name: Option<&str>,
    ) -> Result<ConversationSummary, ApiError> {
        Chat::create_group(self, me, members, name).await
    }

    async fn add_to_group(
        &self,
        me: &User,
        conversation: ConversationId,
        members: &[UserId],
    ) -> Result<ConversationSummary, ApiError> {
        Chat::add_to_group(self, me, conversation, members).await
    }

    async fn leave_group(&self, me: &User, conversation: ConversationId) -> Result<(), ApiError> {
        Chat::leave_group(self, me, conversation).await
    }

    async fn edit_window_secs(&self, _me: &User) -> Result<i64, ApiError> {
        Ok(Chat::edit_window_ms(self).await? / 1000)
    }

    async fn set_edit_window(&self, me: &User, secs: i64) -> Result<(), ApiError> {
        Chat::set_edit_window(self, me, secs).await
    }

    async fn save_settings(&self, me: &User, settings: AdminSettings) -> Result<(), ApiError> {
        Chat::save_settings(self, me, settings).await
    }
}
