//! The conversation list, opening direct messages and order threads, the people picker,
//! the dashboard's orders, and the settings the browser acts on.

use app::error::ApiError;
use app::model::{
    Bootstrap, ClientSettings, ConnectionMode, ConversationKind, ConversationSummary, Order,
    Person, Role, User, UserId,
};
use app::protocol::ServerFrame;
use app::rules::{self, Actor};

use super::{Chat, internal};
use crate::clock::now_ms;
use crate::hub::Recipients;

/// The `meta` key of the admin's connection-mode choice.
const CONNECTION_MODE: &str = "connection_mode";

impl Chat {
    pub async fn bootstrap(&self, me: &User) -> Result<Bootstrap, ApiError> {
        // Read the stream position first: anything after it reaches the client through
        // the live connection, so nothing falls between the two.
        let last_event_id = self.store.last_event_id().await.map_err(internal)?;
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
            last_event_id,
            settings: self.client_settings().await?,
        })
    }

    pub async fn client_settings(&self) -> Result<ClientSettings, ApiError> {
        Ok(ClientSettings {
            connection_mode: self.connection_mode().await?,
            idle_after_ms: self.limits.idle_after_ms,
            max_message_chars: self.limits.max_message_chars,
        })
    }

    pub async fn connection_mode(&self) -> Result<ConnectionMode, ApiError> {
        Ok(self
            .store
            .meta(CONNECTION_MODE)
            .await
            .map_err(internal)?
            .and_then(|m| ConnectionMode::parse(&m))
            .unwrap_or(self.limits.default_connection_mode))
    }

    /// Admins only: how browsers carry the live connection from their next page load.
    pub async fn set_connection_mode(
        &self,
        me: &User,
        mode: ConnectionMode,
    ) -> Result<(), ApiError> {
        if me.role != Role::Admin {
            return Err(ApiError::forbidden());
        }
        self.store
            .set_meta(CONNECTION_MODE, mode.as_str())
            .await
            .map_err(internal)?;
        tracing::info!(admin = %me.username, mode = mode.as_str(), "connection mode changed");
        Ok(())
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

    /// The direct conversation with `other`, created on first use; on creation both
    /// people's lists gain it at once, each under their own title for it.
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
        let opened = self
            .store
            .open_direct(me.id, other.id, now_ms())
            .await
            .map_err(internal)?;
        if let Some(event_id) = opened.created {
            for user in [me, other] {
                let stored = self
                    .store
                    .conversation(opened.id, user.id)
                    .await
                    .map_err(internal)?;
                if let Some(stored) = stored {
                    self.hub.publish(
                        Recipients::Users(&[user.id]),
                        &ServerFrame::Conversation {
                            event_id,
                            conversation: Self::summary(user, stored),
                        },
                    );
                }
            }
        }
        self.summary_for(me, opened.id).await
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
        let opened = self
            .store
            .open_order_thread(number, &order.organisations, now_ms())
            .await
            .map_err(internal)?;
        let summary = self.summary_for(me, opened.id).await?;
        if let Some(event_id) = opened.created {
            let fresh = ConversationSummary {
                last_read_seq: 0,
                unread: 0,
                mentions: 0,
                ..summary.clone()
            };
            self.hub.publish(
                Recipients::Audience {
                    audience: &summary.audience,
                    except: None,
                },
                &ServerFrame::Conversation {
                    event_id,
                    conversation: fresh,
                },
            );
        }
        Ok(summary)
    }
}
