//! Messages: sending, reading, typing, and the history pages.

use app::error::{ApiError, ErrorCode};
use app::model::{
    AttachmentId, ClientId, ConversationId, HistoryPage, Message, MessageId, SeenBy, Seq, User,
    validate_body,
};
use app::protocol::ServerFrame;
use app::rules::{self, Action, Actor};

use super::{Ack, Chat, internal, publish_to_audience};
use crate::clock::now_ms;
use crate::hub::Recipients;
use crate::store::{AfterCommit, NewMessage, Write, Written};

/// A submitted message's ack, once committed.
pub type PendingAck =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Ack, ApiError>> + Send>>;

/// "Seen by" lists at most this many people.
const SEEN_BY_LIMIT: usize = 20;

impl Chat {
    /// Stores a message and fans it out. Re-sending a `client_id` answers with the first
    /// ack and stores and sends nothing.
    pub async fn send_message(
        &self,
        me: &User,
        client_id: ClientId,
        conversation: ConversationId,
        body: &str,
        reply_to: Option<MessageId>,
    ) -> Result<Ack, ApiError> {
        self.submit_message(me, client_id, conversation, body, reply_to, &[])
            .await?
            .await
    }

    /// Checks a message and queues it for the writer behind everything submitted before
    /// it, without waiting for the commit: the returned future gives the ack. A live
    /// connection submits each `send` in order and collects the acks as they come, so
    /// one tab can have many sends in flight and still keep their order.
    pub async fn submit_message(
        &self,
        me: &User,
        client_id: ClientId,
        conversation: ConversationId,
        body: &str,
        reply_to: Option<MessageId>,
        attachments: &[AttachmentId],
    ) -> Result<PendingAck, ApiError> {
        let body = validate_body(body, self.settings().await?.max_message_chars)?;
        let audience = self.checked(me, conversation, Action::Post).await?;
        self.check_uploads(me, conversation, attachments).await?;
        if let Some(original) = reply_to {
            let original = self
                .store
                .message(original)
                .await
                .map_err(internal)?
                .filter(|m| m.conversation_id == conversation)
                .ok_or_else(|| ApiError::not_found("message to reply to"))?;
            rules::check_respond(&Actor::from(me), &audience, &original)?;
        }
        // Fan-out runs in the writer, right after the commit and in commit order.
        let hub = self.hub.clone();
        let metrics = self.metrics.clone();
        let fan_out: AfterCommit = Box::new(move |written: &Written| {
            if let Written::Appended(appended) = written
                && let Some(event_id) = appended.event_id
            {
                metrics.messages_stored.inc();
                let frame = ServerFrame::Message {
                    event_id,
                    message: appended.message.clone(),
                };
                publish_to_audience(&hub, &audience, &frame);
            }
        });
        let pending = self
            .store
            .submit(
                Write::Append(NewMessage {
                    conversation_id: conversation,
                    sender_id: me.id,
                    sender_name: me.display_name.clone(),
                    client_id,
                    body,
                    created_at_ms: now_ms(),
                    reply_to,
                    attachments: attachments.to_vec(),
                }),
                fan_out,
            )
            .await
            .map_err(internal)?;
        Ok(Box::pin(async move {
            let Written::Appended(appended) = pending.await.map_err(internal)? else {
                return Err(ApiError::internal());
            };
            let message = appended.message;
            Ok(Ack {
                client_id,
                conversation_id: message.conversation_id,
                id: message.id,
                seq: message.seq,
            })
        }))
    }

    /// Moves `me`'s read position; tells all of `me`'s tabs (with the new unread count)
    /// and everyone else in the conversation ("seen by").
    pub async fn mark_read(
        &self,
        me: &User,
        conversation: ConversationId,
        seq: Seq,
    ) -> Result<(), ApiError> {
        if seq < 0 {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "seq must not be negative.",
            ));
        }
        let audience = self.checked(me, conversation, Action::See).await?;
        // Published right after the commit, in event order, like every other event.
        let hub = self.hub.clone();
        let reader = me.clone();
        let publish: AfterCommit = Box::new(move |written: &Written| {
            let Written::Read(position) = written else {
                return;
            };
            let Some(event_id) = position.event_id else {
                return;
            };
            hub.publish(
                Recipients::Users(&[reader.id]),
                &ServerFrame::Read {
                    event_id,
                    conversation_id: conversation,
                    last_read_seq: position.last_read_seq,
                    unread: position.unread,
                    mentions: position.mentions,
                },
            );
            publish_to_audience(
                &hub,
                &audience,
                &ServerFrame::SeenBy {
                    event_id,
                    conversation_id: conversation,
                    user_id: reader.id,
                    name: reader.display_name.clone(),
                    seq: position.last_read_seq,
                },
            );
        });
        self.store
            .write(
                Write::MarkRead {
                    user: me.id,
                    conversation,
                    seq,
                    now_ms: now_ms(),
                },
                publish,
            )
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// Tells the others in the conversation that `me` is typing. Nothing is stored.
    pub async fn typing(&self, me: &User, conversation: ConversationId) -> Result<(), ApiError> {
        let audience = self.checked(me, conversation, Action::Post).await?;
        let frame = ServerFrame::Typing {
            conversation_id: conversation,
            user_id: me.id,
            name: me.display_name.clone(),
        };
        self.hub.publish(
            Recipients::Audience {
                audience: &audience,
                except: Some(me.id),
            },
            &frame,
        );
        Ok(())
    }

    pub async fn history(
        &self,
        me: &User,
        conversation: ConversationId,
        before: Option<Seq>,
    ) -> Result<HistoryPage, ApiError> {
        self.checked(me, conversation, Action::See).await?;
        let mut messages = self
            .store
            .history(conversation, before, self.limits.history_page)
            .await
            .map_err(internal)?;
        messages.reverse();
        let next_before = messages.first().map(|m| m.seq).filter(|&seq| seq > 1);
        let seen_by = self
            .store
            .readers(conversation)
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|r| r.user_id != me.id && r.last_read_seq > 0)
            .take(SEEN_BY_LIMIT)
            .map(|r| SeenBy {
                user_id: r.user_id,
                display_name: r.display_name,
                seq: r.last_read_seq,
            })
            .collect();
        Ok(HistoryPage {
            messages,
            next_before,
            seen_by,
        })
    }

    /// Messages after `after`, oldest first: how a client fills a gap it noticed.
    pub async fn messages_after(
        &self,
        me: &User,
        conversation: ConversationId,
        after: Seq,
    ) -> Result<Vec<Message>, ApiError> {
        self.checked(me, conversation, Action::See).await?;
        self.store
            .messages_after(conversation, after, self.limits.history_page)
            .await
            .map_err(internal)
    }
}
