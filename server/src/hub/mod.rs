//! The hub: every open live connection, by user, each with a bounded outgoing queue.
//! It delivers frames that `chat` hands it after a commit and knows nothing of SQL or of
//! the rules (the caller says who receives). It never waits on a socket: a connection
//! whose queue is full is cut off as a slow consumer and catches up when it reconnects.
//! Everything it keeps for a connection goes when [`Registration`] is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use app::model::UserId;
use app::protocol::ServerFrame;
use app::rules::Actor;
use tokio::sync::mpsc;

/// A frame serialized once, shared by every connection it goes to.
pub type Encoded = Arc<str>;

/// Identifies one connection (one browser tab).
pub type ConnectionId = u64;

struct Connection {
    queue: mpsc::Sender<Encoded>,
    /// Set when the hub dropped the connection for falling behind.
    slow: Arc<AtomicBool>,
}

struct UserConnections {
    actor: Actor,
    connections: HashMap<ConnectionId, Connection>,
}

/// Who receives a frame.
pub enum Recipients<'a> {
    /// Exactly these users (direct and group conversations, one user's tabs).
    Users(&'a [UserId]),
    /// Every connected user for whom the predicate holds (channels, order threads).
    Matching(&'a (dyn Fn(&Actor) -> bool + Sync)),
}

pub struct Hub {
    users: Mutex<HashMap<UserId, UserConnections>>,
    next_id: AtomicU64,
    /// Frames a connection may have waiting before it counts as a slow consumer.
    queue_len: usize,
}

/// A live registration. Receive frames from `queue`; drop it to unregister.
pub struct Registration {
    pub id: ConnectionId,
    pub queue: mpsc::Receiver<Encoded>,
    slow: Arc<AtomicBool>,
    user: UserId,
    hub: Arc<Hub>,
}

impl Registration {
    /// Whether the hub cut this connection off because its queue overflowed.
    pub fn was_slow(&self) -> bool {
        self.slow.load(Ordering::Acquire)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.user, self.id);
    }
}

/// Counts for tests and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HubStats {
    pub users: usize,
    pub connections: usize,
}

impl Hub {
    pub fn new(queue_len: usize) -> Arc<Self> {
        Arc::new(Self {
            users: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queue_len: queue_len.max(1),
        })
    }

    pub fn register(self: &Arc<Self>, actor: Actor) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, rx) = mpsc::channel(self.queue_len);
        let slow = Arc::new(AtomicBool::new(false));
        let mut users = self.users.lock().expect("hub lock");
        users
            .entry(actor.id)
            .or_insert_with(|| UserConnections {
                actor,
                connections: HashMap::new(),
            })
            .connections
            .insert(
                id,
                Connection {
                    queue,
                    slow: slow.clone(),
                },
            );
        Registration {
            id,
            queue: rx,
            slow,
            user: actor.id,
            hub: self.clone(),
        }
    }

    fn unregister(&self, user: UserId, id: ConnectionId) {
        let mut users = self.users.lock().expect("hub lock");
        if let Some(entry) = users.get_mut(&user) {
            entry.connections.remove(&id);
            if entry.connections.is_empty() {
                users.remove(&user);
            }
        }
    }

    /// Serializes `frame` once and queues it for every connection of every recipient.
    /// Returns how many connections it was queued for.
    pub fn publish(&self, recipients: Recipients<'_>, frame: &ServerFrame) -> usize {
        let encoded: Encoded = match serde_json::to_string(frame) {
            Ok(text) => text.into(),
            Err(e) => {
                tracing::error!(error = %e, "could not encode a frame");
                return 0;
            }
        };
        let mut users = self.users.lock().expect("hub lock");
        let mut delivered = 0;
        let mut deliver = |entry: &mut UserConnections| {
            entry.connections.retain(|id, conn| match conn.queue.try_send(encoded.clone()) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(connection = id, user = %entry.actor.id, "slow consumer: queue full, disconnecting");
                    conn.slow.store(true, Ordering::Release);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        };
        match recipients {
            Recipients::Users(ids) => {
                for id in ids {
                    if let Some(entry) = users.get_mut(id) {
                        deliver(entry);
                    }
                }
            }
            Recipients::Matching(admits) => {
                for entry in users.values_mut() {
                    if admits(&entry.actor) {
                        deliver(entry);
                    }
                }
            }
        }
        users.retain(|_, entry| !entry.connections.is_empty());
        delivered
    }

    pub fn stats(&self) -> HubStats {
        let users = self.users.lock().expect("hub lock");
        HubStats {
            users: users.len(),
            connections: users.values().map(|u| u.connections.len()).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{OrganisationId, Role};

    fn actor(id: i64) -> Actor {
        Actor {
            id: UserId(id),
            role: Role::Member,
            organisation_id: OrganisationId(1),
        }
    }

    fn pong(nonce: u64) -> ServerFrame {
        ServerFrame::Pong { nonce }
    }

    #[tokio::test]
    async fn every_tab_of_a_recipient_gets_the_frame() {
        let hub = Hub::new(8);
        let mut a1 = hub.register(actor(1));
        let mut a2 = hub.register(actor(1));
        let mut b = hub.register(actor(2));
        assert_eq!(hub.publish(Recipients::Users(&[UserId(1)]), &pong(1)), 2);
        assert_eq!(
            &*a1.queue.recv().await.unwrap(),
            r#"{"type":"pong","nonce":1}"#
        );
        assert_eq!(
            &*a2.queue.recv().await.unwrap(),
            r#"{"type":"pong","nonce":1}"#
        );
        assert!(b.queue.try_recv().is_err());
        let everyone = |_: &Actor| true;
        assert_eq!(hub.publish(Recipients::Matching(&everyone), &pong(2)), 3);
        assert!(b.queue.try_recv().is_ok());
    }

    #[tokio::test]
    async fn a_full_queue_cuts_off_only_that_connection() {
        let hub = Hub::new(2);
        let stalled = hub.register(actor(1));
        let mut reader = hub.register(actor(2));
        let everyone = |_: &Actor| true;
        for n in 0..5 {
            hub.publish(Recipients::Matching(&everyone), &pong(n));
            assert!(reader.queue.recv().await.is_some());
        }
        assert!(stalled.was_slow());
        assert_eq!(
            hub.stats(),
            HubStats {
                users: 1,
                connections: 1
            }
        );
    }

    #[test]
    fn dropping_registrations_empties_the_hub() {
        let hub = Hub::new(4);
        for round in 0..1_000 {
            let a = hub.register(actor(round % 7));
            let b = hub.register(actor(round % 7));
            drop(a);
            drop(b);
        }
        assert_eq!(
            hub.stats(),
            HubStats {
                users: 0,
                connections: 0
            }
        );
    }
}
