//! Changes to messages already sent: edits (within the edit window, by the author only,
//! naming the version they replace), soft deletes (author or admin, audited), reactions,
//! and the edit history. Each change is one write through the ordered path; its
//! `message_changed` event carries the message as it now is to everyone who sees it.

use app::error::{ApiError, ErrorCode};
use app::model::{Emoji, Message, MessageId, MessageVersion, User, validate_body};
use app::protocol::ServerFrame;
use app::rules::{self, Action, Actor};

use super::{Chat, internal, publish_to_audience};
use crate::clock::now_ms;
use crate::store::{AfterCommit, Write, Written};

impl Chat {
    /// A message `me` may see, with its conversation's audience. One `me` may not see
    /// is `not_found`, as if it did not exist.
    async fn visible_message(
        &self,
        me: &User,
        id: MessageId,
    ) -> Result<(Message, std::sync::Arc<app::model::Audience>), ApiError> {
        let message = self
            .store
            .message(id)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("message"))?;
        let audience = self
            .checked(me, message.conversation_id, Action::See)
            .await
            .map_err(|_| ApiError::not_found("message"))?;
        Ok((message, audience))
    }

    /// Replaces the text of `me`'s message `id`, whose current version is `replaces`.
    pub async fn edit_message(
        &self,
        me: &User,
        id: MessageId,
        replaces: u32,
        body: &str,
    ) -> Result<Message, ApiError> {
        let body = validate_body(body, self.settings().await?.max_message_chars)?;
        let (message, audience) = self.visible_message(me, id).await?;
        let window = self.edit_window_ms().await?;
        rules::check_edit(&Actor::from(me), &audience, &message, now_ms(), window)?;
        let write = Write::Edit {
            message: id,
            replaces,
            body,
            now_ms: now_ms(),
        };
        self.change(write, audience).await
    }

    /// Deletes message `id`: its author any time, an admin any message they can see.
    pub async fn delete_message(&self, me: &User, id: MessageId) -> Result<Message, ApiError> {
        let (message, audience) = self.visible_message(me, id).await?;
        rules::check_delete(&Actor::from(me), &audience, &message)?;
        if message.deleted {
            return Ok(message);
        }
        let write = Write::Delete {
            message: id,
            actor: me.id,
            now_ms: now_ms(),
        };
        let deleted = self.change(write, audience).await?;
        tracing::info!(user = %me.username, message = %id, "message deleted");
        Ok(deleted)
    }

    /// Sets (`on`) or removes `me`'s reaction `emoji` on message `id`.
    pub async fn react(
        &self,
        me: &User,
        id: MessageId,
        emoji: Emoji,
        on: bool,
    ) -> Result<Message, ApiError> {
        let (message, audience) = self.visible_message(me, id).await?;
        rules::check_respond(&Actor::from(me), &audience, &message)?;
        let write = Write::React {
            message: id,
            user: me.id,
            emoji,
            on,
            now_ms: now_ms(),
        };
        self.change(write, audience).await
    }

    /// Every text message `id` has had, oldest first, for whoever may see it.
    pub async fn edit_history(
        &self,
        me: &User,
        id: MessageId,
    ) -> Result<Vec<MessageVersion>, ApiError> {
        self.visible_message(me, id).await?;
        self.store.versions(id).await.map_err(internal)
    }

    /// Runs a change through the ordered path; after its commit, everyone who sees the
    /// conversation gets the message as it now is.
    async fn change(
        &self,
        write: Write,
        audience: std::sync::Arc<app::model::Audience>,
    ) -> Result<Message, ApiError> {
        let hub = self.hub.clone();
        let publish: AfterCommit = Box::new(move |written: &Written| {
            if let Written::Changed(changed) = written
                && let Some(event_id) = changed.event_id
            {
                publish_to_audience(
                    &hub,
                    &audience,
                    &ServerFrame::MessageChanged {
                        event_id,
                        message: changed.message.clone(),
                        mentions_before: changed.mentions_before.clone(),
                    },
                );
            }
        });
        match self.store.write(write, publish).await.map_err(internal)? {
            Written::Changed(changed) => Ok(changed.message),
            Written::Stale(current) if current.deleted => Err(ApiError::not_found("message")),
            Written::Stale(current) => Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "This message was changed meanwhile (it is at version {}). Reload it and edit again.",
                    current.version
                ),
            )),
            Written::Missing => Err(ApiError::not_found("message")),
            Written::Appended(_)
            | Written::Read(_)
            | Written::Muted(_)
            | Written::Opened(_)
            | Written::Membership { .. }
            | Written::ChannelChanged(_)
            | Written::NameTaken
            | Written::Purged { .. }
            | Written::Indexed(_) => Err(ApiError::internal()),
        }
    }
}
