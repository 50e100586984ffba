//! The hub's side of a cluster: several nodes on one database, told of each other's
//! commits through a bus (NATS, in [`crate::cluster`]). What it adds to a single hub:
//!
//! - **Event order across nodes.** Event ids follow commit order across every node (the
//!   database numbers them under a lock held to the commit), but a node hears of its own
//!   commits at once and of the others' a little later. So a frame that carries an event
//!   is not delivered when published: it waits, with the others of its transaction,
//!   until every lower id has been delivered. Each transaction's ids are announced with
//!   its frames ([`Body::Events`]), so the hub knows exactly which ids it is waiting for.
//! - **Gaps.** A node that misses bus traffic (its bus connection dropped, a node died
//!   between its commit and its announcement) would wait for ever. When the next id has
//!   not come for [`Timing::gap_wait`] while a higher one has (or a heartbeat says one was
//!   committed), or when the bus connection comes back, the hub reads what it missed from
//!   the database, the source of truth ([`Hub::on_gap`]): every connected user gets the
//!   frames of the missing events, as a resume would give them, in place, and delivery
//!   goes on after them. Only if that fails does every local connection reconnect and
//!   catch up by itself ([`Hub::resync`]).
//! - **Presence of users connected elsewhere**, from each node's changes and heartbeats;
//!   a node not heard from for [`Timing::node_expiry`] counts as gone, its users offline.
//! - Frames of no event (typing), cache invalidations and ended sessions, passed on as
//!   they come.
//!
//! Without a bus the hub delivers at once, as a single node always did.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use app::model::{Audience, ConversationId, EventId, OrganisationId, Presence, Role, UserId};
use app::rules::Actor;

use app::protocol::ServerFrame;

use super::{CutOff, Hub, Outbound, Recipients, UserConnections};

/// Who receives a frame, owned, to cross to other nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum To {
    Users(Vec<UserId>),
    Audience {
        audience: Audience,
        except: Option<UserId>,
    },
    Leaving {
        before: Audience,
        after: Audience,
    },
}

impl To {
    pub(super) fn of(recipients: &Recipients<'_>) -> Self {
        match recipients {
            Recipients::Users(ids) => To::Users(ids.to_vec()),
            Recipients::Audience { audience, except } => To::Audience {
                audience: (*audience).clone(),
                except: *except,
            },
            Recipients::Leaving { before, after } => To::Leaving {
                before: (*before).clone(),
                after: (*after).clone(),
            },
        }
    }

    pub(super) fn recipients(&self) -> Recipients<'_> {
        match self {
            To::Users(ids) => Recipients::Users(ids),
            To::Audience { audience, except } => Recipients::Audience {
                audience,
                except: *except,
            },
            To::Leaving { before, after } => Recipients::Leaving { before, after },
        }
    }
}

/// One frame for some recipients, as it crosses the bus.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub to: To,
    pub event_id: Option<EventId>,
    /// The frame, serialized once by the node that published it.
    pub text: String,
}

impl Delivery {
    fn new(to: To, outbound: &Outbound) -> Self {
        Self {
            to,
            event_id: outbound.event_id,
            text: outbound.text.to_string(),
        }
    }

    fn outbound(&self) -> Outbound {
        Outbound::new(self.event_id, self.text.as_str().into())
    }
}

/// What a node caches that another node's change makes stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Invalidation {
    /// Who may see this conversation changed.
    Conversation(ConversationId),
    /// The admin's settings changed.
    Settings,
}

/// A connected user as another node reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub user: UserId,
    pub role: Role,
    pub organisation: OrganisationId,
    pub presence: Presence,
}

impl Seen {
    fn actor(&self) -> Actor {
        Actor {
            id: self.user,
            role: self.role,
            organisation_id: self.organisation,
        }
    }
}

/// One message on the bus.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Body {
    /// Events `first..=last`, committed in one transaction, and the frames they deliver.
    Events {
        first: EventId,
        last: EventId,
        deliveries: Vec<Delivery>,
    },
    /// Frames of no event (typing), delivered as they come.
    Ephemeral {
        deliveries: Vec<Delivery>,
    },
    Invalidate(Invalidation),
    /// A session (its stored hash) ended: close the connections opened with it.
    EndSession(String),
    /// The sender's connected users — all of them (`full`, a heartbeat) or those whose
    /// presence changed — and the newest event id it has committed.
    Presence {
        full: bool,
        users: Vec<Seen>,
        committed: EventId,
    },
}

/// A message on the bus with the node that sent it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub node: String,
    pub body: Body,
}

/// How long the hub waits before giving up on a missing event or a silent node.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub gap_wait: Duration,
    pub node_expiry: Duration,
}

/// The way out to the bus, set once when the node joins a cluster.
pub(super) struct Link {
    out: mpsc::Sender<Body>,
    timing: Timing,
}

impl Link {
    fn send(&self, body: Body) {
        // A full or closed bus queue loses the message for the other nodes; they notice
        // the gap by event id (or miss a typing hint, which does not matter).
        if self.out.try_send(body).is_err() {
            tracing::warn!("cluster bus queue full or closed: a message to other nodes is lost");
        }
    }
}

/// Frames waiting for their turn, by event id.
#[derive(Default)]
pub(super) struct Sequencer {
    /// The next event id to deliver.
    next: EventId,
    /// Frames this node's writer published, whose transaction it has not reported yet.
    local: Vec<(EventId, To, Outbound)>,
    /// Transactions not yet delivered, by first id: (last id, frames).
    waiting: BTreeMap<EventId, (EventId, Vec<(To, Outbound)>)>,
    /// The newest event any node said it committed.
    committed: EventId,
    /// Since when the next id has been missing while a later one is known.
    stalled_since: Option<Instant>,
    /// Our own newest committed event (told to others in heartbeats).
    own_committed: EventId,
    /// Whether a fill from the database is under way.
    filling: bool,
}

/// Users connected to other nodes.
#[derive(Default)]
pub(super) struct Remote {
    nodes: HashMap<String, RemoteNode>,
}

struct RemoteNode {
    heard: Instant,
    users: HashMap<UserId, Seen>,
}

/// Counts for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClusterStats {
    pub nodes: usize,
    pub waiting: usize,
    pub resyncs: u64,
    pub gap_fills: u64,
}

/// How present: offline < away < online (a user is as present as their best node).
fn rank(presence: Presence) -> u8 {
    match presence {
        Presence::Offline => 0,
        Presence::Away => 1,
        Presence::Online => 2,
    }
}

impl Hub {
    /// Joins a cluster: from now on frames that carry events wait for their turn, and
    /// what other nodes must know goes to `out`. `last_event` is the newest event in the
    /// database, read after the node started listening to the bus.
    pub fn join_cluster(&self, out: mpsc::Sender<Body>, last_event: EventId, timing: Timing) {
        {
            let mut order = self.order();
            order.next = EventId(last_event.0 + 1);
            order.committed = last_event;
            order.own_committed = last_event;
        }
        let _ = self.cluster.set(Link { out, timing });
    }

    pub fn in_cluster(&self) -> bool {
        self.cluster.get().is_some()
    }

    pub(super) fn order(&self) -> std::sync::MutexGuard<'_, Sequencer> {
        self.order
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remote(&self) -> std::sync::MutexGuard<'_, Remote> {
        self.remote
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// In a cluster, takes a published frame: one that carries an event waits for its
    /// transaction to be reported ([`Hub::committed`]); any other goes to the other
    /// nodes too. Returns the frame back when it is to be delivered here now.
    pub(super) fn route(
        &self,
        recipients: &Recipients<'_>,
        outbound: Outbound,
    ) -> Option<Outbound> {
        let Some(link) = self.cluster.get() else {
            return Some(outbound);
        };
        let to = To::of(recipients);
        match outbound.event_id {
            Some(id) => {
                self.order().local.push((id, to, outbound));
                None
            }
            None => {
                link.send(Body::Ephemeral {
                    deliveries: vec![Delivery::new(to, &outbound)],
                });
                Some(outbound)
            }
        }
    }

    /// The writer committed the events `ranges` (one per transaction, in commit order)
    /// and has run their after-commit steps: their frames go to the other nodes, and
    /// here in event order.
    pub fn committed(&self, ranges: &[(EventId, EventId)]) {
        let Some(link) = self.cluster.get() else {
            return;
        };
        let mut order = self.order();
        let mut local = std::mem::take(&mut order.local);
        for &(first, last) in ranges {
            let (mine, rest): (Vec<_>, Vec<_>) = local
                .into_iter()
                .partition(|(id, _, _)| (first..=last).contains(id));
            local = rest;
            link.send(Body::Events {
                first,
                last,
                deliveries: mine
                    .iter()
                    .map(|(_, to, o)| Delivery::new(to.clone(), o))
                    .collect(),
            });
            order.own_committed = order.own_committed.max(last);
            order.committed = order.committed.max(last);
            let frames = mine.into_iter().map(|(_, to, o)| (to, o)).collect();
            order.waiting.insert(first, (last, frames));
        }
        if !local.is_empty() {
            // Not expected: a frame carrying an event no reported transaction wrote.
            tracing::warn!(
                frames = local.len(),
                "frames for events outside any committed transaction: delivered now"
            );
            let mut users = self.lock();
            for (_, to, outbound) in &local {
                self.deliver(&mut users, to.recipients(), outbound);
            }
        }
        self.drain(&mut order);
    }

    /// Delivers every transaction whose turn has come.
    fn drain(&self, order: &mut Sequencer) {
        let mut users = None;
        while let Some(entry) = order.waiting.first_entry() {
            let first = *entry.key();
            let last = entry.get().0;
            if last < order.next {
                // Already delivered, or given up on and caught up from the database.
                entry.remove();
                continue;
            }
            if first > order.next {
                break;
            }
            let (_, frames) = entry.remove();
            let users = users.get_or_insert_with(|| self.lock());
            // (A transaction reaching below `next` had its lower events delivered by a
            // fill already: not again.)
            for (to, outbound) in frames
                .iter()
                .filter(|(_, o)| o.event_id.is_none_or(|id| id >= order.next))
            {
                self.deliver(users, to.recipients(), outbound);
            }
            order.next = EventId(last.0 + 1);
        }
        drop(users);
        let stalled = !order.waiting.is_empty() || order.committed >= order.next;
        order.stalled_since = match (stalled, order.stalled_since) {
            (false, _) => None,
            (true, Some(since)) => Some(since),
            (true, None) => Some(Instant::now()),
        };
    }

    /// Takes a message another node sent.
    pub fn receive(&self, envelope: Envelope) {
        let node = envelope.node;
        match envelope.body {
            Body::Events {
                first,
                last,
                deliveries,
            } => {
                let mut order = self.order();
                order.committed = order.committed.max(last);
                let frames = deliveries
                    .iter()
                    .map(|d| (d.to.clone(), d.outbound()))
                    .collect();
                order.waiting.insert(first, (last, frames));
                self.drain(&mut order);
            }
            Body::Ephemeral { deliveries } => {
                let mut users = self.lock();
                for d in &deliveries {
                    self.deliver(&mut users, d.to.recipients(), &d.outbound());
                }
            }
            Body::Invalidate(what) => {
                if let Some(listener) = self.invalidated.get() {
                    listener(what);
                }
            }
            Body::EndSession(session) => {
                self.end_session_here(&session);
            }
            Body::Presence {
                full,
                users,
                committed,
            } => {
                {
                    let mut order = self.order();
                    order.committed = order.committed.max(committed);
                    self.drain(&mut order);
                }
                self.remote_presence(node, full, users);
            }
        }
    }

    /// Records what `node` says of its users; whoever changed is shown at the next flush.
    fn remote_presence(&self, node: String, full: bool, users: Vec<Seen>) {
        let mut changed: Vec<Actor> = Vec::new();
        {
            let mut remote = self.remote();
            let entry = remote.nodes.entry(node).or_insert_with(|| RemoteNode {
                heard: Instant::now(),
                users: HashMap::new(),
            });
            entry.heard = Instant::now();
            if full {
                for (id, seen) in &entry.users {
                    if !users.iter().any(|u| u.user == *id) {
                        changed.push(seen.actor());
                    }
                }
                entry
                    .users
                    .retain(|id, _| users.iter().any(|u| u.user == *id));
            }
            for seen in users {
                let before = entry.users.get(&seen.user).map(|s| s.presence);
                if seen.presence == Presence::Offline {
                    entry.users.remove(&seen.user);
                } else {
                    entry.users.insert(seen.user, seen);
                }
                if before.unwrap_or(Presence::Offline) != seen.presence {
                    changed.push(seen.actor());
                }
            }
        }
        if !changed.is_empty() {
            let mut book = self.book();
            for actor in changed {
                book.dirty.insert(actor.id, actor);
            }
        }
    }

    /// `user`'s presence on other nodes (offline when there are none).
    pub(super) fn remote_presence_of(&self, user: UserId) -> Presence {
        if self.cluster.get().is_none() {
            return Presence::Offline;
        }
        self.remote()
            .nodes
            .values()
            .filter_map(|n| n.users.get(&user).map(|s| s.presence))
            .max_by_key(|p| rank(*p))
            .unwrap_or(Presence::Offline)
    }

    /// Users connected only to other nodes, with their presence there.
    pub(super) fn remote_users(&self) -> Vec<(Actor, Presence)> {
        if self.cluster.get().is_none() {
            return Vec::new();
        }
        let mut best: HashMap<UserId, (Actor, Presence)> = HashMap::new();
        for node in self.remote().nodes.values() {
            for seen in node.users.values() {
                let entry = best
                    .entry(seen.user)
                    .or_insert((seen.actor(), seen.presence));
                if rank(seen.presence) > rank(entry.1) {
                    entry.1 = seen.presence;
                }
            }
        }
        best.into_values().collect()
    }

    /// Combines what this node sees of a user with what other nodes report.
    pub(super) fn combined(&self, local: Presence, user: UserId) -> Presence {
        let remote = self.remote_presence_of(user);
        if rank(remote) > rank(local) {
            remote
        } else {
            local
        }
    }

    /// Tells the other nodes about local presence changes (`users`, as they now are here).
    pub(super) fn announce_presence(&self, users: Vec<Seen>) {
        if let Some(link) = self.cluster.get()
            && !users.is_empty()
        {
            let committed = self.order().own_committed;
            link.send(Body::Presence {
                full: false,
                users,
                committed,
            });
        }
    }

    /// Sends every local user's presence (a heartbeat), forgets nodes not heard from for
    /// too long, and gives up on a missing event after the gap wait. Run every few
    /// hundred milliseconds.
    pub fn cluster_tick(&self, heartbeat: bool) {
        let Some(link) = self.cluster.get() else {
            return;
        };
        if heartbeat {
            let users: Vec<Seen> = self.lock().values().map(UserConnections::seen).collect();
            let committed = self.order().own_committed;
            link.send(Body::Presence {
                full: true,
                users,
                committed,
            });
        }
        let expired: Vec<Actor> = {
            let mut remote = self.remote();
            let mut gone = Vec::new();
            remote.nodes.retain(|node, n| {
                let alive = n.heard.elapsed() < link.timing.node_expiry;
                if !alive {
                    tracing::warn!(%node, users = n.users.len(), "node not heard from: its users count as offline");
                    gone.extend(n.users.values().map(Seen::actor));
                }
                alive
            });
            gone
        };
        if !expired.is_empty() {
            let mut book = self.book();
            for actor in expired {
                book.dirty.insert(actor.id, actor);
            }
        }
        let give_up = self
            .order()
            .stalled_since
            .is_some_and(|since| since.elapsed() >= link.timing.gap_wait);
        if give_up {
            self.fill_gap();
        }
    }

    /// What reads a gap from the database: given the last event delivered here, it reads
    /// the events after it up to the database's newest, turns them into each local user's
    /// frames (as a resume would), and hands them to [`Hub::filled`], or calls
    /// [`Hub::fill_failed`]. Without one, a gap makes every local connection reconnect.
    pub fn on_gap(&self, filler: Box<dyn Fn(EventId) + Send + Sync>) {
        let _ = self.gap_filler.set(filler);
    }

    /// Fills what the bus lost from the database, unless a fill is under way already.
    pub fn fill_gap(&self) {
        let after = {
            let mut order = self.order();
            if order.filling {
                return;
            }
            order.filling = true;
            EventId(order.next.0 - 1)
        };
        tracing::info!(after = %after, "events missing from the cluster bus: reading them from the database");
        match self.gap_filler.get() {
            Some(filler) => filler(after),
            None => self.fill_failed(),
        }
    }

    /// The users connected here: whose frames a fill reads.
    pub fn local_users(&self) -> Vec<UserId> {
        self.lock().keys().copied().collect()
    }

    /// A fill read from the database: `frames`, for each user connected here, of the
    /// events up to `upto` (read after the list of users was taken, so a connection
    /// opened since caught up past it by itself). Those of events not yet delivered here
    /// go to the users' connections now; transactions waiting at or below `upto` are
    /// dropped (their events are among these), and delivery goes on after `upto`.
    pub fn filled(&self, upto: EventId, frames: Vec<(UserId, Vec<ServerFrame>)>) {
        let mut order = self.order();
        order.filling = false;
        self.gap_fills
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if upto >= order.next {
            let from = order.next;
            let mut users = self.lock();
            for (user, frames) in &frames {
                for frame in frames {
                    if frame.event_id().is_some_and(|id| id < from || id > upto) {
                        continue;
                    }
                    if let Some(outbound) = Outbound::encode(frame) {
                        self.deliver(
                            &mut users,
                            Recipients::Users(std::slice::from_ref(user)),
                            &outbound,
                        );
                    }
                }
            }
            drop(users);
            order.next = EventId(upto.0 + 1);
        }
        order.stalled_since = None;
        self.drain(&mut order);
    }

    /// A fill that could not be read: every local connection reconnects instead.
    pub fn fill_failed(&self) {
        self.order().filling = false;
        self.resync();
    }

    /// Gives up on the missing events: skips past everything known, and tells every local
    /// connection to reconnect, so that each catches up from the database after the last
    /// event it got. What a gap comes to when it cannot be read in place ([`Hub::fill_gap`]).
    pub fn resync(&self) {
        let mut order = self.order();
        let newest = order
            .waiting
            .values()
            .map(|(last, _)| *last)
            .max()
            .unwrap_or_default()
            .max(order.committed)
            .max(EventId(order.next.0 - 1));
        tracing::warn!(
            next = %order.next,
            newest = %newest,
            "events missing from the cluster bus and not read in place: connections reconnect and catch up from the database"
        );
        order.waiting.clear();
        order.next = EventId(newest.0 + 1);
        order.stalled_since = None;
        self.resyncs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut users = self.lock();
        for entry in users.values_mut() {
            let before = entry.presence();
            for connection in entry.connections.values() {
                connection.cut_off.set(CutOff::Resync);
            }
            entry.connections.clear();
            if before != Presence::Offline {
                self.book().dirty.insert(entry.actor.id, entry.actor);
            }
        }
        self.forget_emptied(&mut users);
    }

    /// Sends `what` to the other nodes and runs this node's own listener.
    pub fn invalidate(&self, what: Invalidation) {
        if let Some(listener) = self.invalidated.get() {
            listener(what);
        }
        if let Some(link) = self.cluster.get() {
            link.send(Body::Invalidate(what));
        }
    }

    /// What to run when another node (or this one) invalidates a cache.
    pub fn on_invalidate(&self, listener: Box<dyn Fn(Invalidation) + Send + Sync>) {
        let _ = self.invalidated.set(listener);
    }

    /// Tells the other nodes that a session ended.
    pub(super) fn announce_end_session(&self, session: &str) {
        if let Some(link) = self.cluster.get() {
            link.send(Body::EndSession(session.to_owned()));
        }
    }

    pub fn cluster_stats(&self) -> ClusterStats {
        ClusterStats {
            nodes: self.remote().nodes.len(),
            waiting: self.order().waiting.len(),
            resyncs: self.resyncs.load(std::sync::atomic::Ordering::Relaxed),
            gap_fills: self.gap_fills.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

impl UserConnections {
    pub(super) fn seen(&self) -> Seen {
        Seen {
            user: self.actor.id,
            role: self.actor.role,
            organisation: self.actor.organisation_id,
            presence: self.presence(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: i64) -> Actor {
        Actor {
            id: UserId(id),
            role: Role::Member,
            organisation_id: OrganisationId(1),
        }
    }

    fn gone(event: i64) -> ServerFrame {
        ServerFrame::ConversationGone {
            event_id: EventId(event),
            conversation_id: ConversationId(1),
        }
    }

    /// A hub in a cluster whose newest event was 10, and what it tells the others.
    fn joined(gap_wait: Duration) -> (std::sync::Arc<Hub>, mpsc::Receiver<Body>) {
        let hub = Hub::new(64, |_, _| true);
        let (out, told) = mpsc::channel(64);
        hub.join_cluster(
            out,
            EventId(10),
            Timing {
                gap_wait,
                node_expiry: Duration::from_secs(60),
            },
        );
        (hub, told)
    }

    fn from_elsewhere(first: i64, last: i64, to: UserId) -> Envelope {
        Envelope {
            node: "other".into(),
            body: Body::Events {
                first: EventId(first),
                last: EventId(last),
                deliveries: (first..=last)
                    .map(|id| Delivery {
                        to: To::Users(vec![to]),
                        event_id: Some(EventId(id)),
                        text: serde_json::to_string(&gone(id)).unwrap(),
                    })
                    .collect(),
            },
        }
    }

    fn received(registration: &mut super::super::Registration) -> Vec<Option<EventId>> {
        std::iter::from_fn(|| registration.queue.try_recv().ok())
            .map(|o| o.event_id)
            .collect()
    }

    #[tokio::test]
    async fn an_own_event_waits_for_a_lower_one_committed_elsewhere() {
        let (hub, mut told) = joined(Duration::from_secs(60));
        let mut tab = hub.register(actor(1));
        // This node committed 12; another node committed 11 and has not said so yet.
        hub.publish(Recipients::Users(&[UserId(1)]), &gone(12));
        hub.committed(&[(EventId(12), EventId(12))]);
        assert_eq!(received(&mut tab), vec![]);
        match told.try_recv().unwrap() {
            Body::Events {
                first,
                last,
                deliveries,
            } => {
                assert_eq!((first, last), (EventId(12), EventId(12)));
                assert_eq!(deliveries.len(), 1);
            }
            other => panic!("expected events, got {other:?}"),
        }
        hub.receive(from_elsewhere(11, 11, UserId(1)));
        assert_eq!(
            received(&mut tab),
            vec![Some(EventId(11)), Some(EventId(12))]
        );
        // A transaction heard of twice (after a catch-up) is not delivered again.
        hub.receive(from_elsewhere(11, 11, UserId(1)));
        assert_eq!(received(&mut tab), vec![]);
        assert_eq!(tab.cut_off(), None);
    }

    #[tokio::test]
    async fn a_missing_event_is_given_up_on_and_every_tab_catches_up() {
        let (hub, _told) = joined(Duration::from_millis(20));
        let mut tab = hub.register(actor(1));
        // 11 never comes (its node died between commit and announcement).
        hub.receive(from_elsewhere(12, 13, UserId(1)));
        hub.cluster_tick(false);
        assert_eq!(received(&mut tab), vec![]);
        assert_eq!(tab.cut_off(), None, "not before the gap wait");
        tokio::time::sleep(Duration::from_millis(30)).await;
        hub.cluster_tick(false);
        assert_eq!(tab.cut_off(), Some(CutOff::Resync));
        assert_eq!(hub.cluster_stats().resyncs, 1);
        // Later events flow again, from past everything known.
        let mut again = hub.register(actor(1));
        hub.receive(from_elsewhere(14, 14, UserId(1)));
        assert_eq!(received(&mut again), vec![Some(EventId(14))]);
    }

    #[tokio::test]
    async fn a_missing_event_is_read_from_the_database_in_place() {
        let (hub, _told) = joined(Duration::from_millis(20));
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        {
            let asked = asked.clone();
            hub.on_gap(Box::new(move |after| asked.lock().unwrap().push(after)));
        }
        let mut tab = hub.register(actor(1));
        let mut other = hub.register(actor(2));
        // 11 and 12 are lost on the way; 13 and 14 (one transaction) come.
        hub.receive(from_elsewhere(13, 14, UserId(1)));
        tokio::time::sleep(Duration::from_millis(30)).await;
        hub.cluster_tick(false);
        hub.cluster_tick(false);
        assert_eq!(
            *asked.lock().unwrap(),
            vec![EventId(10)],
            "asked once, while the fill runs"
        );
        assert_eq!(received(&mut tab), vec![]);
        // 11 comes late after all, and goes out at once.
        hub.receive(from_elsewhere(11, 11, UserId(1)));
        assert_eq!(received(&mut tab), vec![Some(EventId(11))]);
        // The database, read up to 14: each user's frames, as a resume gives them.
        hub.filled(
            EventId(14),
            vec![
                (UserId(1), (11..=14).map(gone).collect()),
                (UserId(2), vec![gone(12)]),
            ],
        );
        assert_eq!(
            received(&mut tab),
            vec![Some(EventId(12)), Some(EventId(13)), Some(EventId(14))],
            "each once, in order: 11 is not repeated, the waiting 13–14 is not repeated"
        );
        assert_eq!(received(&mut other), vec![Some(EventId(12))]);
        hub.receive(from_elsewhere(15, 15, UserId(1)));
        assert_eq!(received(&mut tab), vec![Some(EventId(15))]);
        assert_eq!(tab.cut_off(), None, "nobody reconnects");
        let stats = hub.cluster_stats();
        assert_eq!((stats.gap_fills, stats.resyncs), (1, 0));
    }

    #[tokio::test]
    async fn a_fill_that_cannot_be_read_makes_every_tab_catch_up() {
        let (hub, _told) = joined(Duration::from_millis(20));
        hub.on_gap(Box::new(|_| {}));
        let tab = hub.register(actor(1));
        hub.receive(from_elsewhere(12, 12, UserId(1)));
        tokio::time::sleep(Duration::from_millis(30)).await;
        hub.cluster_tick(false);
        assert_eq!(tab.cut_off(), None);
        hub.fill_failed();
        assert_eq!(tab.cut_off(), Some(CutOff::Resync));
    }

    #[tokio::test]
    async fn frames_of_no_event_and_presence_cross_at_once() {
        let (hub, mut told) = joined(Duration::from_secs(60));
        let _tab = hub.register(actor(1));
        hub.publish(
            Recipients::Users(&[UserId(2)]),
            &ServerFrame::Pong { nonce: 1 },
        );
        assert!(matches!(told.try_recv().unwrap(), Body::Ephemeral { .. }));
        // Someone connected only to another node shows in the snapshot, and goes when
        // the node's heartbeat no longer names them.
        let seen = |presence| Seen {
            user: UserId(2),
            role: Role::Member,
            organisation: OrganisationId(1),
            presence,
        };
        hub.receive(Envelope {
            node: "other".into(),
            body: Body::Presence {
                full: true,
                users: vec![seen(Presence::Away)],
                committed: EventId(10),
            },
        });
        assert_eq!(
            hub.presence_for(&actor(1)),
            vec![(UserId(2), Presence::Away)]
        );
        hub.receive(Envelope {
            node: "other".into(),
            body: Body::Presence {
                full: true,
                users: vec![],
                committed: EventId(10),
            },
        });
        assert_eq!(hub.presence_for(&actor(1)), vec![]);
    }
}
