//! Several nodes, one PostgreSQL, one NATS: how the nodes hear of each other's commits.
//!
//! Every node publishes to and subscribes to one core NATS subject (`{prefix}.bus`).
//! What goes over it is in [`crate::hub::cluster`]: each committed transaction's event ids
//! with the frames they deliver, typing hints, cache invalidations, ended sessions, and
//! each node's connected users (on change, and as a heartbeat). NATS is only the fast
//! path: the database stays the source of truth, and a node that misses traffic (NATS
//! restarted, a slow subscription, a node that died between its commit and its
//! announcement) notices the missing event ids and has its connections catch up from the
//! database.
//!
//! A node whose NATS is down at start starts anyway, serves its own clients, and keeps
//! trying; when the connection comes back, its clients catch up on whatever it missed.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;
use crate::hub::cluster::{Body, Envelope, Timing};

/// What a node needs to join a cluster.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    pub url: String,
    /// Subjects start with this.
    pub prefix: String,
    pub heartbeat: Duration,
    pub timing: Timing,
    /// Messages waiting to be published before new ones are dropped.
    pub queue: usize,
}

/// Connects to NATS (in the background, retrying, when it is not there yet), joins the
/// hub to the cluster and listens until `shutdown`. What this node tells the others goes
/// out until `stop`, which a shutdown cancels only once the writer has settled, so the
/// last commits are announced too; the returned task ends when that is published.
/// `last_event` reads the newest event id in the database; it is asked once this node is
/// listening, so that nothing committed after it is missed.
pub async fn join<F, Fut>(
    settings: ClusterSettings,
    hub: Arc<Hub>,
    last_event: F,
    shutdown: CancellationToken,
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<app::model::EventId>>,
{
    let node = uuid::Uuid::new_v4().to_string();
    let subject = format!("{}.bus", settings.prefix);
    let (reconnected_tx, mut reconnected) = mpsc::unbounded_channel::<()>();
    let client = async_nats::ConnectOptions::new()
        .name(format!("parley {node}"))
        .retry_on_initial_connect()
        .max_reconnects(None)
        // A connection that comes back after missing traffic: catch up at once.
        .event_callback(move |event| {
            let reconnected_tx = reconnected_tx.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        tracing::info!("connected to NATS");
                        let _ = reconnected_tx.send(());
                    }
                    async_nats::Event::Disconnected => tracing::warn!("lost NATS: retrying"),
                    async_nats::Event::SlowConsumer(_) => {
                        tracing::warn!("NATS dropped messages for this node (slow consumer)")
                    }
                    other => tracing::info!(event = %other, "NATS"),
                }
            }
        })
        .connect(settings.url.as_str())
        .await?;
    let mut subscriber = client.subscribe(subject.clone()).await?;
    let last = last_event().await?;
    let (out, mut outgoing) = mpsc::channel::<Body>(settings.queue.max(1));
    hub.join_cluster(out, last, settings.timing);
    tracing::info!(%node, %subject, last_event = %last, "joined the cluster");

    // Out: everything this node tells the others, in the order it was told.
    let publisher = {
        let client = client.clone();
        let node = node.clone();
        let subject = subject.clone();
        tokio::spawn(async move {
            let publish = |body: Body| {
                let bytes = serde_json::to_vec(&Envelope {
                    node: node.clone(),
                    body,
                });
                let client = client.clone();
                let subject = subject.clone();
                async move {
                    match bytes {
                        Ok(bytes) => {
                            if let Err(e) = client.publish(subject, bytes.into()).await {
                                tracing::warn!(error = %e, "could not publish to NATS");
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "could not encode a cluster message"),
                    }
                }
            };
            loop {
                tokio::select! {
                    body = outgoing.recv() => match body {
                        Some(body) => publish(body).await,
                        None => break,
                    },
                    _ = stop.cancelled() => {
                        // What is already queued still goes out.
                        while let Ok(body) = outgoing.try_recv() {
                            publish(body).await;
                        }
                        break;
                    }
                }
            }
            if let Err(e) = client.flush().await {
                tracing::warn!(error = %e, "could not flush what this node told NATS");
            }
        })
    };

    // In: what the others say (our own messages come back too, and are skipped).
    {
        let hub = hub.clone();
        let node = node.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    message = subscriber.next() => match message {
                        Some(message) => message,
                        None => return,
                    },
                    _ = shutdown.cancelled() => return,
                };
                match serde_json::from_slice::<Envelope>(&message.payload) {
                    Ok(envelope) if envelope.node == node => {}
                    Ok(envelope) => hub.receive(envelope),
                    Err(e) => tracing::warn!(error = %e, "not a cluster message"),
                }
            }
        });
    }

    // Heartbeats, silent nodes, gaps; a catch-up after NATS comes back.
    {
        let hub = hub.clone();
        tokio::spawn(async move {
            let every = Duration::from_millis(100);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut since_heartbeat = Duration::ZERO;
            let mut connected_before = false;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        since_heartbeat += every;
                        let heartbeat = since_heartbeat >= settings.heartbeat;
                        if heartbeat {
                            since_heartbeat = Duration::ZERO;
                        }
                        hub.cluster_tick(heartbeat);
                    }
                    Some(()) = reconnected.recv() => {
                        // The first connection finds nothing missed (the hub starts
                        // from the database's newest event); a later one may have: read
                        // it from the database.
                        if connected_before {
                            hub.fill_gap();
                        }
                        connected_before = true;
                    }
                    _ = shutdown.cancelled() => return,
                }
            }
        });
    }
    Ok(publisher)
}
