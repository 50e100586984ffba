//! The one command path. Every change — from a WebSocket frame, an SSE post or a server
//! function — comes here: check the input and the rules, do it in one transaction, and
//! only after the commit hand the event to the hub. The sender's own tabs get the event
//! like everyone else's. Errors leave as [`ApiError`]; storage errors are logged and
//! become `internal`.
//!
//! - [`messages`]: send, read, typing, history
//! - [`changes`]: edits, deletes, reactions, edit history
//! - [`attachments`]: uploads, thumbnails, and who may fetch a file
//! - [`groups`]: starting groups, adding people, leaving
//! - [`conversations`]: the list, direct messages, order threads, people, orders, settings
//! - [`search`]: full-text search over what the user may see
//! - [`admin`]: the admin overview, accounts, channels, exports
//! - [`settings`]: what admins set, and the retention sweep
//! - [`catch_up`]: what a reconnecting client missed

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::error::ApiError;
use app::model::{
    Audience, ClientId, ConnectionMode, ConversationId, ConversationKind, ConversationSummary,
    MessageId, Seq, ThreadRef, User,
};
use app::protocol::ServerFrame;
use app::rules::{self, Action, Actor};

use crate::files::BlobStore;
use crate::hub::{Hub, Invalidation, Recipients};
use crate::metrics::Metrics;
use crate::store::prelude::*;
use crate::store::{AfterCommit, Opened, StoreError, StoredConversation, Write, Written};

pub mod admin;
pub mod api_tokens;
pub mod attachments;
mod backend;
pub mod catch_up;
mod changes;
mod conversations;
pub mod email;
mod groups;
mod messages;
mod search;
pub mod settings;

pub use messages::PendingAck;

/// The limits and settings the command path enforces.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_message_chars: usize,
    pub history_page: u32,
    /// A reconnecting client that missed more messages than this in one conversation is
    /// told to reload that conversation instead of receiving them one by one.
    pub resume_max_per_conversation: u64,
    /// A tab without input for this long counts as idle.
    pub idle_after_ms: u32,
    /// The connection mode when no admin has chosen one.
    pub default_connection_mode: ConnectionMode,
    /// How long after sending its author may edit a message, until an admin chooses.
    pub edit_window_ms: i64,
    /// Largest attachment, in bytes.
    pub max_attachment_bytes: u64,
    /// The MIME types attachments may have.
    pub attachment_types: Vec<String>,
    /// Order threads a list shows besides those the user follows: the most recently
    /// active ones.
    pub recent_threads: u32,
}

pub struct Chat {
    store: Arc<dyn Store>,
    /// Where attachments' bytes are kept.
    blobs: Arc<dyn BlobStore>,
    hub: Arc<Hub>,
    metrics: Arc<Metrics>,
    limits: Limits,
    /// Conversations' audiences: saves a database round trip on every frame. A change
    /// of who is in a conversation evicts its entry, right after its commit.
    access: Arc<Mutex<HashMap<ConversationId, Arc<Audience>>>>,
    /// The admin's settings, once read (see [`settings`]).
    settings: Arc<Mutex<Option<app::model::AdminSettings>>>,
    rate_limits: Arc<crate::rate::RateLimits>,
}

/// Entries the access cache holds before it starts over.
const ACCESS_CACHE_ENTRIES: usize = 100_000;

/// What a successful `send` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack {
    pub client_id: ClientId,
    pub conversation_id: ConversationId,
    pub id: MessageId,
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

/// Queues `frame` for every connection of everyone who can see `conversation`.
fn publish_to_audience(hub: &Hub, audience: &Audience, frame: &ServerFrame) {
    hub.publish(
        Recipients::Audience {
            audience,
            except: None,
        },
        frame,
    );
}

/// Drops a conversation's cached audience, right after a commit that changed it.
fn evict(access: &Mutex<HashMap<ConversationId, Arc<Audience>>>, id: ConversationId) {
    access
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(&id);
}

/// Logs a storage failure and turns it into `unavailable` (the database cannot be
/// reached: try again) or the generic `internal` error.
fn internal(error: StoreError) -> ApiError {
    error.to_api("storage failure")
}

impl Chat {
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
        limits: Limits,
        blobs: Arc<dyn BlobStore>,
        rate_limits: Arc<crate::rate::RateLimits>,
    ) -> Self {
        let access: Arc<Mutex<HashMap<ConversationId, Arc<Audience>>>> = Arc::default();
        let settings: Arc<Mutex<Option<app::model::AdminSettings>>> = Arc::default();
        // A change on this node or another one makes what is cached here stale.
        hub.on_invalidate({
            let (access, settings) = (access.clone(), settings.clone());
            Box::new(move |what| match what {
                Invalidation::Conversation(id) => evict(&access, id),
                Invalidation::Settings => {
                    *settings
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
                }
            })
        });
        Self {
            store,
            blobs,
            hub,
            metrics,
            limits,
            access,
            settings,
            rate_limits,
        }
    }

    /// The rate limits every transport applies (live frames, HTTP, sign-in).
    pub fn rate_limits(&self) -> &Arc<crate::rate::RateLimits> {
        &self.rate_limits
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Loads a conversation (without read state) and checks that `me` may do `action` in
    /// it. A conversation `me` may not see is `forbidden`; one that does not exist is
    /// `not_found`.
    async fn checked(
        &self,
        me: &User,
        id: ConversationId,
        action: Action,
    ) -> Result<Arc<Audience>, ApiError> {
        let cached = self.access_cache().get(&id).cloned();
        let audience = match cached {
            Some(audience) => audience,
            None => {
                let loaded = Arc::new(
                    self.store
                        .conversation_access(id)
                        .await
                        .map_err(internal)?
                        .ok_or_else(|| ApiError::not_found("conversation"))?,
                );
                let mut cache = self.access_cache();
                if cache.len() >= ACCESS_CACHE_ENTRIES {
                    cache.clear();
                }
                cache.insert(id, loaded.clone());
                loaded
            }
        };
        let actor = Actor::from(me);
        // One they may not see is one they may not know of: answered as if there were
        // none, so ids cannot be probed. Seen but not allowed (posting where one may only
        // read) is `forbidden`.
        if rules::check(&actor, &audience, Action::See).is_err() {
            return Err(ApiError::not_found("conversation"));
        }
        rules::check(&actor, &audience, action)?;
        Ok(audience)
    }

    fn access_cache(&self) -> std::sync::MutexGuard<'_, HashMap<ConversationId, Arc<Audience>>> {
        self.access
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The conversation as `me` sees it in their list.
    fn summary(me: &User, c: StoredConversation) -> ConversationSummary {
        let title = match c.kind {
            ConversationKind::Channel => app::model::channel_title(&c.name),
            ConversationKind::Order => ThreadRef::from_slug(&c.slug)
                .map(|r| r.title())
                .unwrap_or_else(|| format!("Order {}", c.name)),
            ConversationKind::Group if c.named => c.name.clone(),
            ConversationKind::Direct | ConversationKind::Group => {
                // A direct message is called by the other person's name; an unnamed
                // group by its other members' first names.
                let group = c.kind == ConversationKind::Group;
                let others: Vec<&str> = c
                    .member_names
                    .iter()
                    .filter(|(id, _)| *id != me.id)
                    .map(|(_, name)| match name.split_whitespace().next() {
                        Some(first) if group => first,
                        _ => name.as_str(),
                    })
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
            mentions: c.mentions,
            audience: c.audience,
            last_message: c.last_message,
        }
    }

    /// The conversations in `me`'s list, as stored with `me`'s read state: every channel,
    /// direct and group conversation `me` may see, the order threads `me` follows and the
    /// most recently active others (not all of perhaps hundreds of thousands). The one
    /// place the list, a resume and the admin page get them from.
    async fn visible_conversations(&self, me: &User) -> Result<Vec<StoredConversation>, ApiError> {
        let actor = Actor::from(me);
        Ok(self
            .store
            .conversations_for(&actor, self.limits.recent_threads)
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|c| rules::can_see(&actor, &c.audience))
            .collect())
    }

    /// Opens (finds or creates) a conversation through the ordered path and answers it as
    /// `me` sees it; `announce` tells everyone concerned when it was created now.
    async fn open_conversation(
        &self,
        me: &User,
        write: Write,
        announce: AfterCommit,
    ) -> Result<(Opened, ConversationSummary), ApiError> {
        let Written::Opened(opened) = self.store.write(write, announce).await.map_err(internal)?
        else {
            return Err(ApiError::internal());
        };
        Ok((opened, self.summary_for(me, opened.id).await?))
    }

    /// The summary of a conversation just created, before anybody read anything in it.
    fn fresh_summary(
        id: ConversationId,
        slug: String,
        title: String,
        audience: Audience,
    ) -> ConversationSummary {
        ConversationSummary {
            id,
            kind: audience.kind,
            slug,
            title,
            last_seq: 0,
            last_read_seq: 0,
            unread: 0,
            mentions: 0,
            audience,
            last_message: None,
        }
    }

    /// The conversation as `me` sees it (with `me`'s read state), after checking that `me`
    /// may see it.
    async fn summary_for(
        &self,
        me: &User,
        id: ConversationId,
    ) -> Result<ConversationSummary, ApiError> {
        self.checked(me, id, Action::See).await?;
        let stored = self
            .store
            .conversation(id, me.id)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("conversation"))?;
        Ok(Self::summary(me, stored))
    }
}
