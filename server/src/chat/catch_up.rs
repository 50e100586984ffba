//! What a reconnecting client missed. The connection registers with the hub first, then
//! asks for everything in the event stream after the client's last event up to now, sends
//! it, and only then forwards live frames, skipping any it already sent. A conversation in
//! which too much happened is not replayed: the client is told to reload it.

use std::collections::{HashMap, HashSet};

use app::error::ApiError;
use app::model::{ConversationId, EventId, User};
use app::protocol::ServerFrame;

use super::{Chat, internal};
use crate::store::StoredEventKind;

/// The frames to replay and the stream position they reach.
#[derive(Debug)]
pub struct CatchUp {
    pub frames: Vec<ServerFrame>,
    /// Live frames with events up to here were replayed already.
    pub last_event_id: EventId,
}

impl Chat {
    pub async fn catch_up(&self, me: &User, after: EventId) -> Result<CatchUp, ApiError> {
        let upto = self.store.last_event_id().await.map_err(internal)?;
        self.catch_up_between(me, after, upto).await
    }

    /// In a cluster, what the bus lost after `after` ([`crate::hub::Hub::on_gap`]): the
    /// frames of the events up to the database's newest, for every user connected here,
    /// handed to the hub to deliver in place. If the database cannot be read, every
    /// connection here reconnects and catches up by itself instead.
    pub async fn fill_gap(&self, after: EventId) {
        let read = async {
            // The newest event first, then the users: one who connects meanwhile catches
            // up past it by itself.
            let upto = self.store.last_event_id().await.map_err(internal)?;
            let mut frames = Vec::new();
            for id in self.hub.local_users() {
                let Some(user) = self.store.user(id).await.map_err(internal)? else {
                    continue;
                };
                let mut caught = self.catch_up_between(&user, after, upto).await?;
                caught
                    .frames
                    .retain(|f| !matches!(f, ServerFrame::CaughtUp { .. }));
                frames.push((id, caught.frames));
            }
            Ok::<_, ApiError>((upto, frames))
        };
        match read.await {
            Ok((upto, frames)) => {
                tracing::info!(after = %after, upto = %upto, users = frames.len(), "missed events read from the database");
                self.hub.filled(upto, frames);
            }
            Err(error) => {
                tracing::warn!(%error, "could not read missed events: connections reconnect and catch up");
                self.hub.fill_failed();
            }
        }
    }

    /// What happened after `after` up to `upto`, as `me` may see it.
    async fn catch_up_between(
        &self,
        me: &User,
        after: EventId,
        upto: EventId,
    ) -> Result<CatchUp, ApiError> {
        let mut frames = Vec::new();
        if after >= upto {
            frames.push(ServerFrame::CaughtUp {
                last_event_id: upto,
            });
            return Ok(CatchUp {
                frames,
                last_event_id: upto,
            });
        }
        let visible: HashMap<ConversationId, _> = self
            .visible_conversations(me)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let stale: Vec<ConversationId> = self
            .store
            .message_events_between(after, upto)
            .await
            .map_err(internal)?
            .into_iter()
            .filter(|(id, n)| {
                visible.contains_key(id) && *n > self.limits.resume_max_per_conversation
            })
            .map(|(id, _)| id)
            .collect();
        for conversation_id in &stale {
            frames.push(ServerFrame::Stale {
                conversation_id: *conversation_id,
            });
        }
        let events = self
            .store
            .events_between(after, upto, &stale)
            .await
            .map_err(internal)?;
        // Of my own read moves only the last per conversation matters; its unread count
        // is today's.
        let mut last_own_read: HashMap<ConversationId, EventId> = HashMap::new();
        for event in &events {
            if let StoredEventKind::Read { user_id, .. } = event.kind
                && user_id == me.id
            {
                last_own_read.insert(event.conversation_id, event.id);
            }
        }
        // A replayed change cannot say whom the message mentioned before it, so the
        // client's counts for those conversations are set afresh after their last event.
        let mut last_change: HashMap<ConversationId, EventId> = HashMap::new();
        for event in &events {
            if let StoredEventKind::MessageChanged(_) = event.kind {
                last_change.insert(event.conversation_id, event.id);
            }
        }
        // My own mutes say how things are now (another tab may have changed them since).
        let muted_now: Option<HashSet<ConversationId>> = if events
            .iter()
            .any(|e| matches!(e.kind, StoredEventKind::Mute { user_id } if user_id == me.id))
        {
            Some(
                self.store
                    .muted(me.id)
                    .await
                    .map_err(internal)?
                    .into_iter()
                    .collect(),
            )
        } else {
            None
        };
        for event in events {
            let Some(conversation) = visible.get(&event.conversation_id) else {
                // A group the user left meanwhile goes from their list, and so does a
                // channel that no longer admits them.
                if let StoredEventKind::Membership { user_id } = event.kind
                    && user_id.is_none_or(|u| u == me.id)
                {
                    frames.push(ServerFrame::ConversationGone {
                        event_id: event.id,
                        conversation_id: event.conversation_id,
                    });
                }
                continue;
            };
            let recount = last_change.get(&event.conversation_id) == Some(&event.id);
            let frame = match event.kind {
                StoredEventKind::Message(message) => ServerFrame::Message {
                    event_id: event.id,
                    message,
                },
                StoredEventKind::Read { user_id, seq, .. } if user_id == me.id => {
                    if last_own_read.get(&event.conversation_id) != Some(&event.id) {
                        continue;
                    }
                    ServerFrame::Read {
                        event_id: event.id,
                        conversation_id: event.conversation_id,
                        last_read_seq: conversation.last_read_seq.max(seq),
                        unread: conversation.unread,
                        mentions: conversation.mentions,
                    }
                }
                StoredEventKind::Read { user_id, name, seq } => ServerFrame::SeenBy {
                    event_id: event.id,
                    conversation_id: event.conversation_id,
                    user_id,
                    name,
                    seq,
                },
                StoredEventKind::MessageChanged(message) => ServerFrame::MessageChanged {
                    event_id: event.id,
                    mentions_before: message.mentions(),
                    message,
                },
                StoredEventKind::Mute { user_id } => match &muted_now {
                    Some(muted) if user_id == me.id => ServerFrame::Muted {
                        event_id: event.id,
                        conversation_id: event.conversation_id,
                        muted: muted.contains(&event.conversation_id),
                    },
                    // Someone else's: not mine to know.
                    _ => continue,
                },
                StoredEventKind::Conversation | StoredEventKind::Membership { .. } => {
                    ServerFrame::Conversation {
                        event_id: event.id,
                        conversation: Self::summary(me, conversation.clone()),
                    }
                }
            };
            frames.push(frame);
            if recount {
                frames.push(ServerFrame::Read {
                    event_id: event.id,
                    conversation_id: event.conversation_id,
                    last_read_seq: conversation.last_read_seq,
                    unread: conversation.unread,
                    mentions: conversation.mentions,
                });
            }
        }
        frames.push(ServerFrame::CaughtUp {
            last_event_id: upto,
        });
        Ok(CatchUp {
            frames,
            last_event_id: upto,
        })
    }
}
