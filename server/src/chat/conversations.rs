//! The conversation list, opening direct messages and order threads, the people picker,
//! the dashboard's orders, and the settings the browser acts on.

use app::error::ApiError;
use app::model::{
    Audience, Bootstrap, ConversationId, ConversationKind, ConversationSummary, Order,
    OrganisationId, Person, ThreadRef, ThreadSubject, User, UserId,
};
use app::protocol::ServerFrame;
use app::rules::{self, Action, Actor};

use super::{Chat, internal};
use crate::clock::now_ms;
use crate::hub::Recipients;
use crate::store::{AfterCommit, Opened, Write, Written};

impl Chat {
    /// `me`'s conversation list, with the conversation named `open` in it (when `me` may
    /// see it) even if the list would not hold it.
    pub async fn bootstrap(&self, me: &User, open: Option<&str>) -> Result<Bootstrap, ApiError> {
        // Read the stream position first: anything after it reaches the client through
        // the live connection, so nothing falls between the two.
        let last_event_id = self.store.last_event_id().await.map_err(internal)?;
        let mut conversations: Vec<ConversationSummary> = self
            .visible_conversations(me)
            .await?
            .into_iter()
            .map(|c| Self::summary(me, c))
            .collect();
        if let Some(slug) = open
            && !conversations.iter().any(|c| c.slug == slug)
            && let Ok(extra) = self.conversation_by_slug(me, slug).await
        {
            conversations.push(extra);
        }
        conversations.sort_by(|a, b| match (a.kind, b.kind) {
            (ConversationKind::Order, ConversationKind::Order) => b.id.cmp(&a.id),
            _ => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
        });
        Ok(Bootstrap {
            me: me.clone(),
            theme: self.store.theme(me.id).await.map_err(internal)?,
            muted: self.store.muted(me.id).await.map_err(internal)?,
            conversations,
            last_event_id,
            settings: self.client_settings().await?,
        })
    }

    /// Mutes or unmutes a conversation `me` can see, for `me` only: through the ordered
    /// path, so every tab of theirs hears it (live, or when it resumes).
    pub async fn set_muted(
        &self,
        me: &User,
        conversation: ConversationId,
        muted: bool,
    ) -> Result<(), ApiError> {
        self.checked(me, conversation, Action::See).await?;
        let hub = self.hub.clone();
        let user = me.id;
        let publish: AfterCommit = Box::new(move |written: &Written| {
            if let Written::Muted(Some(event_id)) = written {
                hub.publish(
                    Recipients::Users(&[user]),
                    &ServerFrame::Muted {
                        event_id: *event_id,
                        conversation_id: conversation,
                        muted,
                    },
                );
            }
        });
        self.store
            .write(
                Write::SetMuted {
                    user,
                    conversation,
                    muted,
                    now_ms: now_ms(),
                },
                publish,
            )
            .await
            .map_err(internal)?;
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
            .active_users()
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

    /// Everyone who can see `conversation`, by display name: its members panel, and the
    /// people `@` offers to mention. (Loads every user and keeps those the rules admit;
    /// a per-audience query would scale better with many users.)
    pub async fn members(
        &self,
        me: &User,
        conversation: ConversationId,
    ) -> Result<Vec<User>, ApiError> {
        let audience = self.checked(me, conversation, Action::See).await?;
        Ok(self
            .store
            .active_users()
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|u| rules::can_see(&Actor::from(u), &audience))
            .collect())
    }

    /// The direct conversation with `other`, created on first use; on creation both
    /// people's lists gain it at once, each under their own title for it. An unknown
    /// person and one `me` may not message are refused alike, so nobody learns who exists.
    pub async fn open_direct(
        &self,
        me: &User,
        other: UserId,
    ) -> Result<ConversationSummary, ApiError> {
        let other = self
            .store
            .user(other)
            .await
            .map_err(internal)?
            .filter(|other| rules::can_start_direct(&Actor::from(me), &Actor::from(other)))
            .ok_or_else(|| ApiError::not_found("person"))?;
        let other_id = other.id;
        let hub = self.hub.clone();
        let people = [me.clone(), other];
        let announce: AfterCommit = Box::new(move |written: &Written| {
            let Written::Opened(Opened {
                id,
                created: Some(event_id),
            }) = written
            else {
                return;
            };
            let (lo, hi) = (
                people[0].id.min(people[1].id),
                people[0].id.max(people[1].id),
            );
            for (viewer, partner) in [(&people[0], &people[1]), (&people[1], &people[0])] {
                hub.publish(
                    Recipients::Users(&[viewer.id]),
                    &ServerFrame::Conversation {
                        event_id: *event_id,
                        conversation: Chat::fresh_summary(
                            *id,
                            format!("dm-{lo}-{hi}"),
                            partner.display_name.clone(),
                            Audience::members(ConversationKind::Direct, vec![lo, hi]),
                        ),
                    },
                );
            }
        });
        let write = Write::OpenDirect {
            a: me.id,
            b: other_id,
            now_ms: now_ms(),
        };
        Ok(self.open_conversation(me, write, announce).await?.1)
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

    /// What a thread is about, as `me` may see it: the orders concerned (those `me` may
    /// see), and the shipment. Not found when `me` may see none of it.
    pub async fn thread_subject(
        &self,
        me: &User,
        reference: &ThreadRef,
    ) -> Result<ThreadSubject, ApiError> {
        let (orders, shipment) = match reference {
            ThreadRef::Order(number) => (
                self.store
                    .order(*number)
                    .await
                    .map_err(internal)?
                    .into_iter()
                    .collect(),
                None,
            ),
            ThreadRef::Sku(code) => (
                self.store.orders_with_sku(code).await.map_err(internal)?,
                None,
            ),
            ThreadRef::Shipment(code) => match self.store.shipment(code).await.map_err(internal)? {
                Some((shipment, orders)) => (orders, Some(shipment)),
                None => (Vec::new(), None),
            },
        };
        let actor = Actor::from(me);
        let orders: Vec<Order> = orders
            .into_iter()
            .filter(|o| rules::can_see_order(&actor, &o.organisations))
            .collect();
        if orders.is_empty() {
            return Err(ApiError::not_found(match reference {
                ThreadRef::Order(_) => "order",
                ThreadRef::Sku(_) => "SKU",
                ThreadRef::Shipment(_) => "shipment",
            }));
        }
        Ok(ThreadSubject {
            reference: reference.clone(),
            orders,
            shipment,
        })
    }

    /// The thread about an order, SKU or shipment, created on first use (idempotent: one
    /// per reference). It admits internal staff and every organisation linked to an
    /// order it concerns, as they are when it is created.
    pub async fn open_thread(
        &self,
        me: &User,
        reference: &ThreadRef,
    ) -> Result<ConversationSummary, ApiError> {
        let subject = self.thread_subject(me, reference).await?;
        // Everyone linked to any of its orders, not only those `me` sees.
        let all = match reference {
            ThreadRef::Order(_) => subject.orders,
            ThreadRef::Sku(code) => self.store.orders_with_sku(code).await.map_err(internal)?,
            ThreadRef::Shipment(code) => self
                .store
                .shipment(code)
                .await
                .map_err(internal)?
                .map(|(_, orders)| orders)
                .unwrap_or_default(),
        };
        let mut organisations: Vec<OrganisationId> = all
            .iter()
            .flat_map(|o| o.organisations.iter().copied())
            .collect();
        organisations.sort();
        organisations.dedup();
        let audience = Audience::order(organisations.clone());
        let hub = self.hub.clone();
        let (slug, title) = (reference.slug(), reference.title());
        let announce: AfterCommit = Box::new(move |written: &Written| {
            let Written::Opened(Opened {
                id,
                created: Some(event_id),
            }) = written
            else {
                return;
            };
            let fresh = Chat::fresh_summary(*id, slug.clone(), title.clone(), audience.clone());
            hub.publish(
                Recipients::Audience {
                    audience: &audience,
                    except: None,
                },
                &ServerFrame::Conversation {
                    event_id: *event_id,
                    conversation: fresh,
                },
            );
        });
        let write = Write::OpenThread {
            reference: reference.clone(),
            organisations,
            now_ms: now_ms(),
        };
        Ok(self.open_conversation(me, write, announce).await?.1)
    }
}
