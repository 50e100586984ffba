//! Prometheus `/metrics`: live connections and users (read from the hub when scraped),
//! and counters of what the server did. One registry per server instance.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::hub::Hub;

pub struct Metrics {
    registry: Registry,
    connections: Gauge,
    users: Gauge,
    slow_consumers: Gauge,
    /// Messages stored (not counting idempotent resends).
    pub messages_stored: Counter,
    /// Live connections opened (WebSocket and SSE).
    pub connections_opened: Counter,
    /// Frames refused with an error.
    pub frames_refused: Counter,
    /// Requests, frames, connections and sign-ins refused by a rate limit.
    pub rate_limited: Counter,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("parley");
        let connections = Gauge::default();
        let users = Gauge::default();
        let slow_consumers = Gauge::default();
        let messages_stored = Counter::default();
        let connections_opened = Counter::default();
        let frames_refused = Counter::default();
        let rate_limited = Counter::default();
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
        Arc::new(Self {
            registry,
            connections,
            users,
            slow_consumers,
            messages_stored,
            connections_opened,
            frames_refused,
            rate_limited,
        })
    }

    /// The text exposition, with the hub's gauges as they are now.
    pub fn render(&self, hub: &Hub) -> String {
        let stats = hub.stats();
        self.connections.set(stats.connections as i64);
        self.users.set(stats.users as i64);
        self.slow_consumers.set(stats.slow_consumers as i64);
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("could not encode metrics");
        }
        out
    }
}
