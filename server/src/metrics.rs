//! Prometheus `/metrics`: live connections and users (read from the hub when scraped),
//! and counters of what the server did. One registry per server instance.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::hub::Hub;

pub struct Metrics {
    registry: Registry,
    connections: Gauge,
    users: Gauge,
    slow_consumers: Gauge,
    queued_frames: Gauge,
    deepest_queue: Gauge,
    queued_writes: Gauge,
    cluster_nodes: Gauge,
    cluster_waiting: Gauge,
    cluster_resyncs: Gauge,
    cluster_gap_fills: Gauge,
    /// Seconds from a `send` frame read to its ack (the commit included).
    pub send_ack_seconds: Histogram,
    /// Messages stored (not counting idempotent resends).
    pub messages_stored: Counter,
    /// Live connections opened (WebSocket and SSE).
    pub connections_opened: Counter,
    /// Frames refused with an error.
    pub frames_refused: Counter,
    /// Requests, frames, connections and sign-ins refused by a rate limit.
    pub rate_limited: Counter,
    /// Notification emails the SMTP server took, and attempts it refused or missed.
    pub emails_sent: Counter,
    pub emails_failed: Counter,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("parley");
        let connections = Gauge::default();
        let users = Gauge::default();
        let slow_consumers = Gauge::default();
        let queued_frames = Gauge::default();
        let deepest_queue = Gauge::default();
        let queued_writes = Gauge::default();
        let cluster_nodes = Gauge::default();
        let cluster_waiting = Gauge::default();
        let cluster_resyncs = Gauge::default();
        let cluster_gap_fills = Gauge::default();
        registry.register(
            "cluster_other_nodes",
            "Other nodes heard from lately (NATS_URL set)",
            cluster_nodes.clone(),
        );
        registry.register(
            "cluster_waiting_transactions",
            "Committed transactions waiting for a lower event id from another node",
            cluster_waiting.clone(),
        );
        registry.register(
            "cluster_resyncs",
            "Times events went missing between nodes and could not be read in place: every connection reconnected and caught up from the database, since start",
            cluster_resyncs.clone(),
        );
        registry.register(
            "cluster_gap_fills",
            "Times events went missing between nodes and were read from the database in place, since start",
            cluster_gap_fills.clone(),
        );
        // 0.25 ms to ~4 s.
        let send_ack_seconds = Histogram::new(exponential_buckets(0.000_25, 2.0, 15));
        let messages_stored = Counter::default();
        let connections_opened = Counter::default();
        let frames_refused = Counter::default();
        let rate_limited = Counter::default();
        let emails_sent = Counter::default();
        let emails_failed = Counter::default();
        registry.register(
            "emails_sent",
            "Notification emails handed to the SMTP server",
            emails_sent.clone(),
        );
        registry.register(
            "emails_failed",
            "Notification emails the SMTP server did not take (retried later)",
            emails_failed.clone(),
        );
        registry.register(
            "live_connections",
            "Open live connections (tabs)",
            connections.clone(),
        );
        registry.register(
            "online_users",
            "Users with at least one live connection",
            users.clone(),
        );
        registry.register(
            "slow_consumers",
            "Connections cut off because their outgoing queue overflowed, since start",
            slow_consumers.clone(),
        );
        registry.register(
            "messages_stored",
            "Messages stored",
            messages_stored.clone(),
        );
        registry.register(
            "connections_opened",
            "Live connections opened",
            connections_opened.clone(),
        );
        registry.register(
            "frames_refused",
            "Client frames answered with an error",
            frames_refused.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests, frames and connections refused by a rate limit",
            rate_limited.clone(),
        );
        registry.register(
            "live_queued_frames",
            "Frames waiting in live connections' outgoing queues",
            queued_frames.clone(),
        );
        registry.register(
            "live_deepest_queue",
            "Frames waiting in the fullest outgoing queue",
            deepest_queue.clone(),
        );
        registry.register(
            "queued_writes",
            "Writes waiting for the database writer",
            queued_writes.clone(),
        );
        registry.register(
            "send_ack_seconds",
            "Time from a send frame read to its ack (durable)",
            send_ack_seconds.clone(),
        );
        Arc::new(Self {
            registry,
            connections,
            users,
            slow_consumers,
            queued_frames,
            deepest_queue,
            queued_writes,
            cluster_nodes,
            cluster_waiting,
            cluster_resyncs,
            cluster_gap_fills,
            send_ack_seconds,
            messages_stored,
            connections_opened,
            frames_refused,
            rate_limited,
            emails_sent,
            emails_failed,
        })
    }

    /// The text exposition, with the hub's and the store's gauges as they are now.
    pub fn render(&self, hub: &Hub, store: &dyn crate::store::Store) -> String {
        let stats = hub.stats();
        self.queued_frames.set(stats.queued_frames as i64);
        self.deepest_queue.set(stats.deepest_queue as i64);
        self.queued_writes.set(store.queued_writes() as i64);
        self.connections.set(stats.connections as i64);
        self.users.set(stats.users as i64);
        self.slow_consumers.set(stats.slow_consumers as i64);
        let cluster = hub.cluster_stats();
        self.cluster_nodes.set(cluster.nodes as i64);
        self.cluster_waiting.set(cluster.waiting as i64);
        self.cluster_resyncs.set(cluster.resyncs as i64);
        self.cluster_gap_fills.set(cluster.gap_fills as i64);
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("could not encode metrics");
        }
        out
    }
}
