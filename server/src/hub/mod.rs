//! The hub: every open live connection, by user, each with a bounded outgoing queue, and
//! the presence that follows from them. Presence changes are collected and sent every
//! [`Hub::flush_presence`] (a few times a second), one frame per kind of viewer, so that
//! a thousand tabs reconnecting at once cost one frame per viewer, not a million; a
//! reload that goes offline and back within one flush shows nothing to anyone. It delivers frames that `chat` hands it after a
//! commit and knows nothing of SQL; who receives what is decided by the caller, and whose
//! presence a user is shown by the predicate given to [`Hub::new`]. It never waits on a
//! socket: a connection whose queue is full is cut off as a slow consumer and catches up
//! when it reconnects. Signing out cuts off every connection opened with that session.
//! Everything it keeps for a connection goes when its [`Registration`] is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use app::model::{
    Activity, Audience, ConversationKind, EventId, OrganisationId, Presence, Role, UserId,
};
use app::protocol::ServerFrame;
use app::rules::{self, Actor};
use tokio::sync::mpsc;

pub mod cluster;

pub use cluster::{ClusterStats, Invalidation};

/// A frame serialized once and shared by every connection it goes to, with the event it
/// carries (if any), so a connection replaying missed events can skip duplicates. One
/// allocation per frame, whatever the number of recipients: a queue slot holds a pointer
/// (tokio allocates a connection's queue 32 slots at a time, so a fat slot cost every idle
/// connection 1.5 KiB), and the text is bytes the WebSocket writes as they are.
#[derive(Clone, Debug)]
pub struct Outbound(Arc<Encoded>);

#[derive(Debug)]
pub struct Encoded {
    pub event_id: Option<EventId>,
    pub text: axum::extract::ws::Utf8Bytes,
}

impl std::ops::Deref for Outbound {
    type Target = Encoded;
    fn deref(&self) -> &Encoded {
        &self.0
    }
}

impl Outbound {
    pub fn new(event_id: Option<EventId>, text: axum::extract::ws::Utf8Bytes) -> Self {
        Self(Arc::new(Encoded { event_id, text }))
    }

    pub fn encode(frame: &ServerFrame) -> Option<Self> {
        match serde_json::to_string(frame) {
            Ok(text) => Some(Self::new(frame.event_id(), text.into())),
            Err(e) => {
                tracing::error!(error = %e, "could not encode a frame");
                None
            }
        }
    }
}

/// Identifies one connection (one browser tab).
pub type ConnectionId = u64;

/// Decides whether `viewer` is shown `subject`'s presence. It may depend on the viewer's
/// role and organisation only (and on the subject), not on who the viewer is.
pub type PresenceAudience = fn(viewer: &Actor, subject: &Actor) -> bool;

/// Why the hub dropped a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutOff {
    /// Its queue overflowed: it should reconnect and catch up.
    SlowConsumer = 1,
    /// The session it was opened with ended (signed out).
    SessionEnded = 2,
    /// Events went missing on the way from another node: it should reconnect and catch
    /// up from the database.
    Resync = 3,
}

/// Where the hub records a [`CutOff`] for the connection's own loop to read.
#[derive(Clone, Default)]
struct CutOffFlag(Arc<AtomicU8>);

impl CutOffFlag {
    fn set(&self, why: CutOff) {
        self.0.store(why as u8, Ordering::Release);
    }

    fn get(&self) -> Option<CutOff> {
        match self.0.load(Ordering::Acquire) {
            1 => Some(CutOff::SlowConsumer),
            2 => Some(CutOff::SessionEnded),
            3 => Some(CutOff::Resync),
            _ => None,
        }
    }
}

struct Connection {
    queue: mpsc::Sender<Outbound>,
    activity: Activity,
    /// The session (its stored hash) the connection was opened with, if any.
    session: Option<Arc<str>>,
    cut_off: CutOffFlag,
}

struct UserConnections {
    actor: Actor,
    connections: HashMap<ConnectionId, Connection>,
}

impl UserConnections {
    fn presence(&self) -> Presence {
        if self.connections.is_empty() {
            Presence::Offline
        } else if self
            .connections
            .values()
            .any(|c| c.activity == Activity::Active)
        {
            Presence::Online
        } else {
            Presence::Away
        }
    }
}

/// Who receives a frame.
pub enum Recipients<'a> {
    /// Exactly these users (one user's tabs, say).
    Users(&'a [UserId]),
    /// Everyone who can see a conversation with this audience, but `except`. Channels and
    /// order threads are found through the users connected per (role, organisation), not
    /// by testing every connected user.
    Audience {
        audience: &'a Audience,
        except: Option<UserId>,
    },
    /// Everyone who could see a channel with audience `before` and cannot see it with
    /// `after`.
    Leaving {
        before: &'a Audience,
        after: &'a Audience,
    },
}

type Users = HashMap<UserId, UserConnections>;

/// Presence changes not yet sent.
#[derive(Default)]
struct PresenceBook {
    /// Users whose presence may have changed since the last flush.
    dirty: HashMap<UserId, Actor>,
    /// What others were last told, for users not offline.
    announced: HashMap<UserId, Presence>,
    /// In a cluster: what other nodes were last told of this node's own connections,
    /// for users not offline here.
    reported: HashMap<UserId, Presence>,
}

/// Connected users by role and organisation (who sees a channel depends on nothing else).
type Kinds = HashMap<(Role, OrganisationId), std::collections::HashSet<UserId>>;

pub struct Hub {
    users: Mutex<Users>,
    /// Locked only while `users` is held.
    kinds: Mutex<Kinds>,
    /// Locked only while `users` is held.
    presence: Mutex<PresenceBook>,
    next_id: AtomicU64,
    /// Frames a connection may have waiting before it counts as a slow consumer.
    queue_len: usize,
    presence_audience: PresenceAudience,
    /// Connections cut off as slow consumers since start.
    slow_consumers: AtomicU64,
    /// Set when the node is one of several: the way to the others.
    cluster: std::sync::OnceLock<cluster::Link>,
    /// Frames carrying events, waiting for their turn (in a cluster). Taken before
    /// `users` when both are.
    order: Mutex<cluster::Sequencer>,
    /// Users connected to other nodes. Never held while taking another lock.
    remote: Mutex<cluster::Remote>,
    /// Times the cluster's event order was given up on and caught up from the database.
    resyncs: AtomicU64,
    /// Times events the bus lost were read from the database in place.
    gap_fills: AtomicU64,
    /// Reads what the bus lost from the database (see [`Hub::on_gap`]).
    gap_filler: std::sync::OnceLock<Box<dyn Fn(EventId) + Send + Sync>>,
    /// Run when a cache must be dropped (see [`Hub::invalidate`]).
    invalidated: std::sync::OnceLock<Box<dyn Fn(Invalidation) + Send + Sync>>,
}

/// A live registration. Receive frames from `queue`; drop it to unregister.
pub struct Registration {
    pub id: ConnectionId,
    pub queue: mpsc::Receiver<Outbound>,
    cut_off: CutOffFlag,
    user: UserId,
    hub: Arc<Hub>,
}

impl Registration {
    /// Why the hub dropped this connection, if it did (its queue then ends).
    pub fn cut_off(&self) -> Option<CutOff> {
        self.cut_off.get()
    }

    /// Records whether this tab is in use; tells others if the user's presence changed.
    pub fn set_activity(&self, activity: Activity) {
        self.hub.set_activity(self.user, self.id, activity);
    }

    pub fn user(&self) -> UserId {
        self.user
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
    pub slow_consumers: u64,
    /// Frames waiting in connections' outgoing queues, in all and in the fullest one.
    pub queued_frames: usize,
    pub deepest_queue: usize,
}

impl Hub {
    pub fn new(queue_len: usize, presence_audience: PresenceAudience) -> Arc<Self> {
        Arc::new(Self {
            users: Mutex::new(HashMap::new()),
            presence: Mutex::new(PresenceBook::default()),
            kinds: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queue_len: queue_len.max(1),
            presence_audience,
            slow_consumers: AtomicU64::new(0),
            cluster: std::sync::OnceLock::new(),
            order: Mutex::new(cluster::Sequencer::default()),
            remote: Mutex::new(cluster::Remote::default()),
            resyncs: AtomicU64::new(0),
            gap_fills: AtomicU64::new(0),
            gap_filler: std::sync::OnceLock::new(),
            invalidated: std::sync::OnceLock::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Users> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters more than stopping delivery would.
        self.users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a connection that no session ends (tests, tools).
    fn kinds(&self) -> std::sync::MutexGuard<'_, Kinds> {
        self.kinds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn book(&self) -> std::sync::MutexGuard<'_, PresenceBook> {
        self.presence
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn register(self: &Arc<Self>, actor: Actor) -> Registration {
        self.register_session(actor, None)
    }

    /// Registers a connection of `actor` opened with `session` (its stored hash), so that
    /// [`Hub::end_session`] can cut it off.
    pub fn register_session(self: &Arc<Self>, actor: Actor, session: Option<&str>) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, rx) = mpsc::channel(self.queue_len);
        let cut_off = CutOffFlag::default();
        let mut users = self.lock();
        let before = users
            .get(&actor.id)
            .map_or(Presence::Offline, UserConnections::presence);
        let entry = users.entry(actor.id).or_insert_with(|| {
            self.kinds()
                .entry((actor.role, actor.organisation_id))
                .or_default()
                .insert(actor.id);
            UserConnections {
                actor,
                connections: HashMap::new(),
            }
        });
        entry.connections.insert(
            id,
            Connection {
                queue,
                activity: Activity::Active,
                session: session.map(Arc::from),
                cut_off: cut_off.clone(),
            },
        );
        self.note_if_changed(&mut users, actor.id, before);
        Registration {
            id,
            queue: rx,
            cut_off,
            user: actor.id,
            hub: self.clone(),
        }
    }

    fn unregister(&self, user: UserId, id: ConnectionId) {
        let mut users = self.lock();
        let Some(entry) = users.get_mut(&user) else {
            return;
        };
        let before = entry.presence();
        entry.connections.remove(&id);
        self.note_if_changed(&mut users, user, before);
        self.forget_if_empty(&mut users, user);
    }

    /// Cuts off every connection opened with `session` (its stored hash): their queues
    /// end and their loops close them as signed out. Returns how many there were.
    pub fn end_session(&self, session: &str) -> usize {
        self.announce_end_session(session);
        self.end_session_here(session)
    }

    /// [`Hub::end_session`] for this node's connections only.
    fn end_session_here(&self, session: &str) -> usize {
        let mut users = self.lock();
        let affected: Vec<(UserId, Presence)> = users
            .iter()
            .filter(|(_, e)| {
                e.connections
                    .values()
                    .any(|c| c.session.as_deref() == Some(session))
            })
            .map(|(id, e)| (*id, e.presence()))
            .collect();
        let mut ended = 0;
        for (user, before) in affected {
            if let Some(entry) = users.get_mut(&user) {
                entry.connections.retain(|_, c| {
                    let keep = c.session.as_deref() != Some(session);
                    if !keep {
                        c.cut_off.set(CutOff::SessionEnded);
                        ended += 1;
                    }
                    keep
                });
            }
            self.note_if_changed(&mut users, user, before);
        }
        self.forget_emptied(&mut users);
        ended
    }

    /// Records whether connection `id` of `user` is in use (nothing happens for a
    /// connection that is not `user`'s); tells others if the presence changed.
    pub fn set_activity(&self, user: UserId, id: ConnectionId, activity: Activity) {
        let mut users = self.lock();
        let Some(entry) = users.get_mut(&user) else {
            return;
        };
        let before = entry.presence();
        if let Some(connection) = entry.connections.get_mut(&id) {
            connection.activity = activity;
        }
        self.note_if_changed(&mut users, user, before);
    }

    /// Notes that `user`'s presence may have changed; the next flush tells others.
    fn note_if_changed(&self, users: &mut Users, user: UserId, before: Presence) {
        let Some(entry) = users.get(&user) else {
            return;
        };
        if entry.presence() != before {
            self.book().dirty.insert(user, entry.actor);
        }
    }

    /// Sends everyone the presence changes they may see since the last flush, one frame
    /// per viewer. Returns how many connections it queued a frame for.
    pub fn flush_presence(&self) -> usize {
        let mut users = self.lock();
        // What changed here, for the other nodes (told once the locks are released).
        let mut here = Vec::new();
        let changes: Vec<(Actor, Presence)> = {
            let mut book = self.book();
            if book.dirty.is_empty() {
                return 0;
            }
            let dirty = std::mem::take(&mut book.dirty);
            let mut changes = Vec::new();
            for (id, actor) in dirty {
                let local = users
                    .get(&id)
                    .map_or(Presence::Offline, UserConnections::presence);
                if self.in_cluster() {
                    let told = if local == Presence::Offline {
                        book.reported.remove(&id)
                    } else {
                        book.reported.insert(id, local)
                    };
                    if told.unwrap_or(Presence::Offline) != local {
                        here.push(cluster::Seen {
                            user: id,
                            role: actor.role,
                            organisation: actor.organisation_id,
                            presence: local,
                        });
                    }
                }
                let now = self.combined(local, id);
                let before = if now == Presence::Offline {
                    book.announced.remove(&id)
                } else {
                    book.announced.insert(id, now)
                };
                if before.unwrap_or(Presence::Offline) != now {
                    changes.push((actor, now));
                }
            }
            changes
        };
        if !here.is_empty() {
            drop(users);
            self.announce_presence(here);
            users = self.lock();
        }
        if changes.is_empty() {
            return 0;
        }
        let audience = self.presence_audience;
        let visible_to = |viewer: &Actor| -> Option<Outbound> {
            let users: Vec<(UserId, Presence)> = changes
                .iter()
                .filter(|(subject, _)| subject.id != viewer.id && audience(viewer, subject))
                .map(|(subject, presence)| (subject.id, *presence))
                .collect();
            if users.is_empty() {
                None
            } else {
                Outbound::encode(&ServerFrame::Presence { users })
            }
        };
        // Who sees whom depends on the viewer's role and organisation: one frame for each,
        // except for viewers whose own presence is among the changes (not shown to them).
        let mut by_kind: HashMap<(Role, OrganisationId), Option<Outbound>> = HashMap::new();
        let changed: std::collections::HashSet<UserId> =
            changes.iter().map(|(actor, _)| actor.id).collect();
        let mut queued = 0;
        for entry in users.values_mut() {
            let viewer = entry.actor;
            let frame = if changed.contains(&viewer.id) {
                visible_to(&viewer)
            } else {
                by_kind
                    .entry((viewer.role, viewer.organisation_id))
                    .or_insert_with(|| visible_to(&viewer))
                    .clone()
            };
            if let Some(frame) = frame {
                queued += self.push(entry, &frame);
            }
        }
        self.forget_emptied(&mut users);
        queued
    }

    /// Flushes presence every `every` until `shutdown`.
    pub async fn run_presence(
        self: Arc<Self>,
        every: std::time::Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    self.flush_presence();
                }
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Presence of every connected user `viewer` may see (the snapshot after `hello`).
    pub fn presence_for(&self, viewer: &Actor) -> Vec<(UserId, Presence)> {
        // Users connected only to other nodes (a cluster), each tested.
        let mut seen: HashMap<UserId, Presence> = self
            .remote_users()
            .into_iter()
            .filter(|(u, _)| u.id != viewer.id && (self.presence_audience)(viewer, u))
            .map(|(u, p)| (u.id, p))
            .collect();
        // Users connected here, found through their role and organisation: who sees whom
        // depends on nothing else (as for the presence flush), so a guest's snapshot costs
        // the staff and their own organisation, not everyone connected.
        {
            let users = self.lock();
            let kinds = self.kinds();
            for (&(role, organisation_id), ids) in kinds.iter() {
                let kind = Actor {
                    id: UserId(i64::MIN),
                    role,
                    organisation_id,
                };
                if !(self.presence_audience)(viewer, &kind) {
                    continue;
                }
                for id in ids.iter().filter(|id| **id != viewer.id) {
                    if let Some(u) = users.get(id) {
                        seen.insert(*id, self.combined(u.presence(), *id));
                    }
                }
            }
        }
        let mut seen: Vec<(UserId, Presence)> = seen
            .into_iter()
            .filter(|(_, p)| *p != Presence::Offline)
            .collect();
        seen.sort_by_key(|(id, _)| *id);
        seen
    }

    /// Serializes `frame` once and queues it for every connection of every recipient.
    /// Returns how many connections it was queued for.
    pub fn publish(&self, recipients: Recipients<'_>, frame: &ServerFrame) -> usize {
        let Some(outbound) = Outbound::encode(frame) else {
            return 0;
        };
        // In a cluster a frame carrying an event waits for its turn.
        let Some(outbound) = self.route(&recipients, outbound) else {
            return 0;
        };
        let mut users = self.lock();
        self.deliver(&mut users, recipients, &outbound)
    }

    /// Removes users left without connections (gone, cut off, signed out); the next
    /// presence flush shows them offline.
    /// Every user is looked at: for the rare paths (sessions ended, a resync); the frequent
    /// ones forget only the users they emptied ([`Hub::forget_if_empty`]).
    fn forget_emptied(&self, users: &mut Users) {
        users.retain(|_, entry| {
            if !entry.connections.is_empty() {
                return true;
            }
            self.forgotten(&entry.actor);
            false
        });
    }

    /// Removes `user` if they have no connection left.
    fn forget_if_empty(&self, users: &mut Users, user: UserId) {
        if users.get(&user).is_some_and(|e| e.connections.is_empty())
            && let Some(entry) = users.remove(&user)
        {
            self.forgotten(&entry.actor);
        }
    }

    /// The bookkeeping of a user removed from `users`.
    fn forgotten(&self, actor: &Actor) {
        self.book().dirty.insert(actor.id, *actor);
        let kind = (actor.role, actor.organisation_id);
        let mut kinds = self.kinds();
        if let Some(ids) = kinds.get_mut(&kind) {
            ids.remove(&actor.id);
            if ids.is_empty() {
                kinds.remove(&kind);
            }
        }
    }

    /// Queues `outbound` on every connection of `entry`; a full queue cuts that
    /// connection off. Returns how many it was queued on.
    fn push(&self, entry: &mut UserConnections, outbound: &Outbound) -> usize {
        let mut queued = 0;
        let user = entry.actor.id;
        entry
            .connections
            .retain(|id, conn| match conn.queue.try_send(outbound.clone()) {
                Ok(()) => {
                    queued += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(connection = id, user = %user, "slow consumer: queue full, disconnecting");
                    conn.cut_off.set(CutOff::SlowConsumer);
                    self.slow_consumers.fetch_add(1, Ordering::Relaxed);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        queued
    }

    /// Queues `outbound` for `recipients`' connections; users whose last connection it cut
    /// off (slow consumers) are forgotten. Returns how many connections it was queued on.
    fn deliver(&self, users: &mut Users, recipients: Recipients<'_>, outbound: &Outbound) -> usize {
        let mut delivered = 0;
        let mut emptied: Vec<UserId> = Vec::new();
        let mut push = |entry: &mut UserConnections| {
            delivered += self.push(entry, outbound);
            if entry.connections.is_empty() {
                emptied.push(entry.actor.id);
            }
        };
        match recipients {
            Recipients::Users(ids) => {
                for id in ids {
                    if let Some(entry) = users.get_mut(id) {
                        push(entry);
                    }
                }
            }
            Recipients::Audience { audience, except } => {
                let mut push_to = |id: &UserId| {
                    if Some(*id) != except
                        && let Some(entry) = users.get_mut(id)
                    {
                        push(entry);
                    }
                };
                match audience.kind {
                    ConversationKind::Direct | ConversationKind::Group => {
                        audience.members.iter().for_each(&mut push_to);
                    }
                    ConversationKind::Channel | ConversationKind::Order => {
                        let kinds = self.kinds();
                        for ((role, organisation), ids) in kinds.iter() {
                            if rules::can_see_by_kind(*role, *organisation, audience) == Some(true)
                            {
                                ids.iter().for_each(&mut push_to);
                            }
                        }
                    }
                }
            }
            Recipients::Leaving { before, after } => {
                let kinds = self.kinds();
                for ((role, organisation), ids) in kinds.iter() {
                    if rules::can_see_by_kind(*role, *organisation, before) == Some(true)
                        && rules::can_see_by_kind(*role, *organisation, after) == Some(false)
                    {
                        for id in ids {
                            if let Some(entry) = users.get_mut(id) {
                                push(entry);
                            }
                        }
                    }
                }
            }
        }
        for user in emptied {
            self.forget_if_empty(users, user);
        }
        delivered
    }

    pub fn stats(&self) -> HubStats {
        let users = self.lock();
        let depths = || {
            users.values().flat_map(|u| {
                u.connections
                    .values()
                    .map(|c| c.queue.max_capacity() - c.queue.capacity())
            })
        };
        HubStats {
            users: users.len(),
            connections: users.values().map(|u| u.connections.len()).sum(),
            slow_consumers: self.slow_consumers.load(Ordering::Relaxed),
            queued_frames: depths().sum(),
            deepest_queue: depths().max().unwrap_or(0),
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

    fn everyone_sees_everyone(_: &Actor, _: &Actor) -> bool {
        true
    }

    /// A channel of the organisation every test actor belongs to.
    static ORGANISATION_CHANNEL: std::sync::LazyLock<Audience> =
        std::sync::LazyLock::new(|| Audience::channel(vec![OrganisationId(1)], Role::ALL.to_vec()));

    fn everyone() -> Recipients<'static> {
        Recipients::Audience {
            audience: &ORGANISATION_CHANNEL,
            except: None,
        }
    }

    fn pong(nonce: u64) -> ServerFrame {
        ServerFrame::Pong { nonce }
    }

    fn drain(reg: &mut Registration) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(o) = reg.queue.try_recv() {
            out.push(o.text.to_string());
        }
        out
    }

    #[tokio::test]
    async fn every_tab_of_a_recipient_gets_the_frame() {
        let hub = Hub::new(8, everyone_sees_everyone);
        let mut a1 = hub.register(actor(1));
        let mut a2 = hub.register(actor(1));
        let mut b = hub.register(actor(2));
        drain(&mut a1);
        drain(&mut a2);
        drain(&mut b);
        assert_eq!(hub.publish(Recipients::Users(&[UserId(1)]), &pong(1)), 2);
        assert_eq!(drain(&mut a1), [r#"{"type":"pong","nonce":1}"#]);
        assert_eq!(drain(&mut a2), [r#"{"type":"pong","nonce":1}"#]);
        assert!(drain(&mut b).is_empty());
        assert_eq!(hub.publish(everyone(), &pong(2)), 3);
        assert_eq!(drain(&mut b).len(), 1);
    }

    #[tokio::test]
    async fn a_full_queue_cuts_off_only_that_connection() {
        let hub = Hub::new(2, everyone_sees_everyone);
        let stalled = hub.register(actor(1));
        let mut reader = hub.register(actor(2));
        for n in 0..5 {
            hub.publish(everyone(), &pong(n));
            drain(&mut reader);
        }
        assert_eq!(stalled.cut_off(), Some(CutOff::SlowConsumer));
        let stats = hub.stats();
        assert_eq!(
            (stats.users, stats.connections, stats.slow_consumers),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn ending_a_session_cuts_off_its_connections_only() {
        let hub = Hub::new(16, everyone_sees_everyone);
        let mut watcher = hub.register(actor(9));
        let mut laptop1 = hub.register_session(actor(1), Some("laptop"));
        let mut laptop2 = hub.register_session(actor(1), Some("laptop"));
        let mut phone = hub.register_session(actor(1), Some("phone"));
        hub.flush_presence();
        drain(&mut watcher);
        drain(&mut laptop1);
        drain(&mut laptop2);
        drain(&mut phone);
        assert_eq!(hub.end_session("laptop"), 2);
        assert_eq!(laptop1.cut_off(), Some(CutOff::SessionEnded));
        assert_eq!(laptop2.cut_off(), Some(CutOff::SessionEnded));
        assert!(laptop1.queue.recv().await.is_none(), "the queue ends");
        assert!(laptop2.queue.recv().await.is_none());
        assert_eq!(phone.cut_off(), None);
        hub.flush_presence();
        assert!(drain(&mut watcher).is_empty(), "still online on the phone");
        assert_eq!(hub.publish(Recipients::Users(&[UserId(1)]), &pong(1)), 1);
        assert_eq!(drain(&mut phone).len(), 1);
        assert_eq!(hub.end_session("phone"), 1);
        hub.flush_presence();
        assert_eq!(
            drain(&mut watcher),
            [r#"{"type":"presence","users":[[1,"offline"]]}"#]
        );
        drop((laptop1, laptop2, phone));
        let stats = hub.stats();
        assert_eq!((stats.users, stats.connections), (1, 1));
    }

    fn someone(id: i64, role: Role, organisation: i64) -> Actor {
        Actor {
            id: UserId(id),
            role,
            organisation_id: OrganisationId(organisation),
        }
    }

    #[tokio::test]
    async fn an_audience_reaches_exactly_who_may_see_it() {
        let hub = Hub::new(16, everyone_sees_everyone);
        let admin = someone(1, Role::Admin, 1);
        let member = someone(2, Role::Member, 1);
        let client = someone(3, Role::Guest, 2);
        let maker = someone(4, Role::Guest, 3);
        let mut tabs: Vec<Registration> = [admin, member, client, maker, client]
            .into_iter()
            .map(|a| hub.register(a))
            .collect();
        hub.flush_presence();
        tabs.iter_mut().for_each(|t| {
            drain(t);
        });
        let reached = |tabs: &mut Vec<Registration>| -> Vec<i64> {
            tabs.iter_mut()
                .filter_map(|t| (!drain(t).is_empty()).then(|| t.user().0))
                .collect()
        };
        let channel = Audience::channel(
            vec![OrganisationId(1), OrganisationId(2)],
            Role::ALL.to_vec(),
        );
        let to = |audience, except| Recipients::Audience { audience, except };
        assert_eq!(hub.publish(to(&channel, None), &pong(1)), 4);
        assert_eq!(reached(&mut tabs), [1, 2, 3, 3]);
        assert_eq!(
            hub.publish(to(&channel, Some(UserId(3))), &pong(2)),
            2,
            "typing skips the typist"
        );
        assert_eq!(reached(&mut tabs), [1, 2]);
        let order = Audience::order(vec![OrganisationId(3)]);
        hub.publish(to(&order, None), &pong(3));
        assert_eq!(reached(&mut tabs), [1, 2, 4]);
        let direct = Audience::members(ConversationKind::Direct, vec![UserId(2), UserId(3)]);
        hub.publish(to(&direct, None), &pong(4));
        assert_eq!(reached(&mut tabs), [2, 3, 3], "not even the admin");
        // Whoever connects later is found too; whoever leaves is not.
        let maker_tab = tabs.remove(3);
        drop(maker_tab);
        let mut late = hub.register(someone(5, Role::Guest, 3));
        hub.flush_presence();
        drain(&mut late);
        tabs.iter_mut().for_each(|t| {
            drain(t);
        });
        assert_eq!(hub.publish(to(&order, None), &pong(5)), 3);
        assert_eq!(drain(&mut late).len(), 1);
    }

    #[test]
    fn dropping_registrations_empties_the_hub() {
        let hub = Hub::new(4, everyone_sees_everyone);
        for round in 0..1_000 {
            let a = hub.register(actor(round % 7));
            let b = hub.register(actor(round % 7));
            drop(a);
            drop(b);
        }
        let stats = hub.stats();
        assert_eq!((stats.users, stats.connections), (0, 0));
        assert!(hub.kinds().is_empty(), "and its index of who is connected");
    }

    /// The snapshot found through roles and organisations is the one a test of every
    /// connected user against the rule gives, for viewers of every kind.
    #[tokio::test]
    async fn a_presence_snapshot_shows_exactly_whom_the_rule_allows() {
        let hub = Hub::new(16, app::rules::can_see_user);
        let people: Vec<Actor> = (1..=30)
            .map(|n| Actor {
                id: UserId(n),
                role: [Role::Admin, Role::Member, Role::Guest, Role::Guest][n as usize % 4],
                organisation_id: OrganisationId(if n % 4 < 2 { 1 } else { 2 + n % 3 }),
            })
            .collect();
        let mut tabs: Vec<_> = people.iter().map(|a| hub.register(*a)).collect();
        tabs[4].set_activity(Activity::Idle);
        drop(tabs.remove(7));
        for viewer in &people {
            let mut want: Vec<(UserId, Presence)> = people
                .iter()
                .filter(|u| u.id != viewer.id && u.id != UserId(8))
                .filter(|u| app::rules::can_see_user(viewer, u))
                .map(|u| {
                    let away = u.id == people[4].id;
                    (
                        u.id,
                        if away {
                            Presence::Away
                        } else {
                            Presence::Online
                        },
                    )
                })
                .collect();
            want.sort_by_key(|(id, _)| *id);
            assert_eq!(hub.presence_for(viewer), want, "for {viewer:?}");
        }
    }

    #[tokio::test]
    async fn presence_follows_the_tabs_of_a_user() {
        let hub = Hub::new(16, everyone_sees_everyone);
        let mut watcher = hub.register(actor(9));
        let mut tab1 = hub.register(actor(1));
        assert!(drain(&mut watcher).is_empty(), "nothing until the flush");
        assert_eq!(hub.flush_presence(), 2, "each is told about the other");
        assert_eq!(
            drain(&mut tab1),
            [r#"{"type":"presence","users":[[9,"online"]]}"#]
        );
        assert_eq!(
            drain(&mut watcher),
            [r#"{"type":"presence","users":[[1,"online"]]}"#]
        );
        let tab2 = hub.register(actor(1));
        tab1.set_activity(Activity::Idle);
        hub.flush_presence();
        assert!(
            drain(&mut watcher).is_empty(),
            "still online: the second tab is active"
        );
        tab2.set_activity(Activity::Idle);
        hub.flush_presence();
        assert_eq!(
            drain(&mut watcher),
            [r#"{"type":"presence","users":[[1,"away"]]}"#]
        );
        assert_eq!(hub.presence_for(&actor(9)), [(UserId(1), Presence::Away)]);
        drop(tab1);
        drop(tab2);
        hub.flush_presence();
        assert_eq!(
            drain(&mut watcher),
            [r#"{"type":"presence","users":[[1,"offline"]]}"#]
        );
        assert!(hub.presence_for(&actor(9)).is_empty());
    }

    #[tokio::test]
    async fn a_reload_within_one_flush_shows_nothing() {
        let hub = Hub::new(16, everyone_sees_everyone);
        let mut watcher = hub.register(actor(9));
        let tab = hub.register(actor(1));
        hub.flush_presence();
        drain(&mut watcher);
        drop(tab);
        let again = hub.register(actor(1));
        assert_eq!(hub.flush_presence(), 0);
        assert!(drain(&mut watcher).is_empty());
        drop(again);
    }

    #[tokio::test]
    async fn a_reconnect_storm_costs_one_presence_frame_per_viewer() {
        // Everyone in one organisation sees everyone: 500 tabs connecting at once used
        // to queue 500 frames on each (and cut them off as slow consumers).
        let hub = Hub::new(8, everyone_sees_everyone);
        let tabs: Vec<Registration> = (0..500).map(|n| hub.register(actor(n))).collect();
        assert_eq!(hub.flush_presence(), 500);
        assert_eq!(hub.stats().slow_consumers, 0);
        let mut tabs = tabs;
        let frames = drain(&mut tabs[0]);
        assert_eq!(frames.len(), 1);
        let frame: ServerFrame = serde_json::from_str(&frames[0]).unwrap();
        match frame {
            ServerFrame::Presence { users } => {
                assert_eq!(users.len(), 499, "everyone but the viewer");
                assert!(!users.iter().any(|(id, _)| *id == UserId(0)));
            }
            other => panic!("expected presence, got {other:?}"),
        }
    }
}
