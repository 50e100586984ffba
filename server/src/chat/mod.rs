//! The one command path. Every change — from a WebSocket frame or a server function —
//! comes here: check the input and the rules, do it in one transaction, and only after
//! the commit hand the event to the hub. The sender's own tabs get the event like
//! everyone else's. Errors leave as [`ApiError`]; storage errors are logged and become
//! `internal`.

use std::sync::Arc;

use app::error::{ApiError, ErrorCode};
use app::model::{
    Bootstrap, ClientId, ConversationId, ConversationKind, ConversationSummary, HistoryPage, Order,
    Person, Seq, User, UserId, validate_body,
};
use app::protocol::ServerFrame;
use app::rules::{self, Action, Actor};

use crate::clock::now_ms;
use crate::hub::{Hub, Recipients};
use crate::store::{NewMessage, Store, StoreError, StoredConversation};

mod backend;

/// The limits the command path enforces.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_message_chars: usize,
    pub history_page: u32,
}

pub struct Chat {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    limits: Limits,
}

/// What a successful `send` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack {
    pub client_id: ClientId,
    pub conversation_id: ConversationId,
    pub id: app::model::MessageId,
    pub seq: Seq,
}

impl From<Ack> for ServerFrame {
    fn from(ack: Ack) -> Self {
        ServerFrame::Ack {
            client_id: ack.client_id,
            conversation_id: ack.conversation_id,
            id: ack.id,
            seq: ack.seq,
        }
    }
}

/// Logs a storage failure and turns it into the generic `internal` error.
fn internal(error: StoreError) -> ApiError {
    tracing::error!(%error, "storage failure");
    ApiError::internal()
}

impl Chat {
    pub fn new(store: Arc<dyn Store>, hub: Arc<Hub>, limits: Limits) -> Self {
        Self { store, hub, limits }
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Loads a conversation and checks that `me` may do `action` in it. A conversation
    /// `me` may not see is `forbidden`; one that does not exist is `not_found`.
    async fn checked(
        &self,
        me: &User,
        id: ConversationId,
        action: Action,
    ) -> Result<StoredConversation, ApiError> {
        let conversation = self
            .store
            .conversation(id, me.id)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("conversation"))?;
        if !rules::can(&Actor::from(me), &conversation.audience, action) {
            return Err(ApiError::forbidden());
        }
        Ok(conversation)
    }

    /// Stores a message and fans it out. Re-sending a `client_id` answers with the first
    /// ack and stores and sends nothing.
    pub async fn send_message(
        &self,
        me: &User,
        client_id: ClientId,
        conversation: ConversationId,
        body: &str,
    ) -> Result<Ack, ApiError> {
        let body = validate_body(body, self.limits.max_message_chars)?;
        let stored = self.checked(me, conversation, Action::Post).await?;
        let appended = self
            .store
            .append_message(NewMessage {
                conversation_id: conversation,
                sender_id: me.id,
                client_id,
                body,
                created_at_ms: now_ms(),
            })
            .await
            .map_err(internal)?;
        let message = appended.message;
        let ack = Ack {
            client_id,
            conversation_id: message.conversation_id,
            id: message.id,
            seq: message.seq,
        };
        if !appended.duplicate {
            self.publish_to_audience(&stored, &ServerFrame::Message { message });
        }
        Ok(ack)
    }

    /// Moves `me`'s read position and tells all of `me`'s tabs.
    pub async fn mark_read(
        &self,
        me: &User,
        conversation: ConversationId,
        seq: Seq,
    ) -> Result<(), ApiError> {
        let stored = self.checked(me, conversation, Action::See).await?;
        if seq < 0 {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "seq must not be negative.",
            ));
        }
        let (last_read_seq, unread) = self
            .store
            .mark_read(me.id, conversation, seq.min(stored.last_seq))
            .await
            .map_err(internal)?;
        self.hub.publish(
            Recipients::Users(&[me.id]),
            &ServerFrame::Read {
                conversation_id: conversation,
                last_read_seq,
                unread,
            },
        );
        Ok(())
    }

    fn publish_to_audience(&self, conversation: &StoredConversation, frame: &ServerFrame) {
        match conversation.kind {
            ConversationKind::Direct | ConversationKind::Group => {
                self.hub
                    .publish(Recipients::Users(&conversation.audience.members), frame);
            }
            ConversationKind::Channel | ConversationKind::Order => {
                let audience = &conversation.audience;
                let admits = |actor: &Actor| rules::can_see(actor, audience);
                self.hub.publish(Recipients::Matching(&admits), frame);
            }
        }
    }

    /// The conversation as `me` sees it in their list.
    fn summary(me: &User, c: StoredConversation) -> ConversationSummary {
        let title = match c.kind {
            ConversationKind::Channel => format!("#{}", c.name),
            ConversationKind::Order => format!("Order {}", c.name),
            ConversationKind::Direct | ConversationKind::Group => {
                let others: Vec<&str> = c
                    .member_names
                    .iter()
                    .filter(|(id, _)| *id != me.id)
                    .map(|(_, name)| name.as_str())
                    .collect();
                if others.is_empty() {
                    me.display_name.clone()
                } else {
                    others.join(", ")
                }
            }
        };
        ConversationSummary {
            id: c.id,
            kind: c.kind,
            slug: c.slug,
            title,
            last_seq: c.last_seq,
            last_read_seq: c.last_read_seq,
            unread: c.unread,
            audience: c.audience,
        }
    }

    pub async fn bootstrap(&self, me: &User) -> Result<Bootstrap, ApiError> {
        let actor = Actor::from(me);
        let mut conversations: Vec<ConversationSummary> = self
            .store
            .conversations_for(me.id)
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|c| rules::can_see(&actor, &c.audience))
            .map(|c| Self::summary(me, c))
            .collect();
        conversations.sort_by(|a, b| match (a.kind, b.kind) {
            (ConversationKind::Order, ConversationKind::Order) => b.id.cmp(&a.id),
            _ => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
        });
        Ok(Bootstrap {
            me: me.clone(),
            conversations,
        })
    }

    pub async fn conversation_by_slug(
        &self,
        me: &User,
        slug: &str,
    ) -> Result<ConversationSummary, ApiError> {
        let stored = self
            .store
            .conversation_by_slug(slug, me.id)
            .await
            .map_err(internal)?
            .filter(|c| rules::can_see(&Actor::from(me), &c.audience))
            .ok_or_else(|| ApiError::not_found("conversation"))?;
        Ok(Self::summary(me, stored))
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
        Ok(HistoryPage {
            messages,
            next_before,
        })
    }

    pub async fn people(&self, me: &User) -> Result<Vec<Person>, ApiError> {
        let actor = Actor::from(me);
        Ok(self
            .store
            .users()
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|u| rules::can_start_direct(&actor, &Actor::from(u)))
            .map(|u| Person {
                id: u.id,
                display_name: u.display_name,
                organisation_name: u.organisation_name,
            })
            .collect())
    }

    pub async fn open_direct(
        &self,
        me: &User,
        other: UserId,
    ) -> Result<ConversationSummary, ApiError> {
        let users = self.store.users().await.map_err(internal)?;
        let other = users
            .iter()
            .find(|u| u.id == other)
            .ok_or_else(|| ApiError::not_found("person"))?;
        if !rules::can_start_direct(&Actor::from(me), &Actor::from(other)) {
            return Err(ApiError::forbidden());
        }
        let (id, created) = self
            .store
            .open_direct(me.id, other.id, now_ms())
            .await
            .map_err(internal)?;
        if created {
            // The other person's list gains it at once, under their own title for it.
            for user in [me, other] {
                if let Some(stored) = self
                    .store
                    .conversation(id, user.id)
                    .await
                    .map_err(internal)?
                {
                    self.hub.publish(
                        Recipients::Users(&[user.id]),
                        &ServerFrame::Conversation {
                            conversation: Self::summary(user, stored),
                        },
                    );
                }
            }
        }
        self.summary_for(me, id).await
    }

    /// The conversation as `me` sees it, after checking that `me` may see it.
    async fn summary_for(
        &self,
        me: &User,
        id: ConversationId,
    ) -> Result<ConversationSummary, ApiError> {
        Ok(Self::summary(me, self.checked(me, id, Action::See).await?))
    }

    pub async fn orders(&self, me: &User) -> Result<Vec<Order>, ApiError> {
        let actor = Actor::from(me);
        Ok(self
            .store
            .orders()
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|o| rules::can_see_order(&actor, &o.organisations))
            .collect())
    }

    pub async fn order(&self, me: &User, number: i64) -> Result<Order, ApiError> {
        self.store
            .order(number)
            .await
            .map_err(internal)?
            .filter(|o| rules::can_see_order(&Actor::from(me), &o.organisations))
            .ok_or_else(|| ApiError::not_found("order"))
    }

    /// The order's thread, created on first use (idempotent: one per order).
    pub async fn open_order_thread(
        &self,
        me: &User,
        number: i64,
    ) -> Result<ConversationSummary, ApiError> {
        let order = self.order(me, number).await?;
        let (id, created) = self
            .store
            .open_order_thread(number, &order.organisations, now_ms())
            .await
            .map_err(internal)?;
        let summary = self.summary_for(me, id).await?;
        if created {
            let audience = &summary.audience;
            let admits = |actor: &Actor| rules::can_see(actor, audience);
            let fresh = ConversationSummary {
                last_read_seq: 0,
                unread: 0,
                ..summary.clone()
            };
            self.hub.publish(
                Recipients::Matching(&admits),
                &ServerFrame::Conversation {
                    conversation: fresh,
                },
            );
        }
        Ok(summary)
    }
}
