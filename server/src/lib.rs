//! Parley's server: axum serving Leptos pages and server functions, the `/ws` live
//! connection, storage and auth. `main.rs` only parses the command line and calls
//! [`run`]; tests call [`start`] with their own listener and shutdown token.
//!
//! - [`config`]: every setting and limit
//! - [`store`]: the storage trait and its SQLite implementation
//! - [`chat`]: the one command path (rules → transaction → hub)
//! - [`hub`]: live connections and fan-out
//! - [`ws`], [`http`], [`auth`]: thin transports
//! - [`demo`]: first-run seeding

use std::sync::Arc;

use axum::serve::ListenerExt;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub mod assets;
pub mod auth;
pub mod backup;
pub mod bench_seed;
pub mod chat;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod demo_host;
pub mod files;
pub mod http;
pub mod hub;
pub mod live;
pub mod metrics;
pub mod rate;
pub mod sched;
pub mod store;
pub mod web;

use chat::{Chat, Limits};
use config::Config;
use hub::Hub;
use web::AppState;

/// Opens storage, seeds it if needed, and serves on `listener` until `shutdown` is
/// cancelled. Live connections are told to reconnect; in-flight requests finish.
pub async fn start(
    mut config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // One server per data folder; `parley restore` waits for it to stop.
    let _lock = backup::lock_data_dir(&config.data_dir)?;
    let path = config.data_dir.join(backup::DATABASE);
    let engine = store::Engine::open(
        config.database_url.as_ref().map(|url| url.expose_str()),
        store::postgres::PostgresSettings {
            max_connections: config.database_pool,
            acquire_timeout: std::time::Duration::from_millis(config.database_timeout_ms.max(1)),
            max_batch: config.write_batch.max(1),
        },
        &path,
        &store::sqlite::SqliteSettings {
            max_batch: config.write_batch.max(1),
            checkpoint_at_bytes: config.wal_checkpoint_mib.max(1) << 20,
            ..Default::default()
        },
    )
    .await?;
    let store = engine.store();
    demo::first_run(store.as_ref(), config.demo).await?;

    let hub = Hub::new(config.outgoing_queue, app::rules::can_see_user);
    tokio::spawn(hub.clone().run_presence(
        std::time::Duration::from_millis(config.presence_flush_ms.max(10)),
        shutdown.clone(),
    ));
    let metrics = metrics::Metrics::new();
    let rate_limits = Arc::new(rate::RateLimits::new(
        &config.rate_settings(),
        metrics.rate_limited.clone(),
    ));
    tokio::spawn(rate::sweep(rate_limits.clone(), shutdown.clone()));
    let chat = Arc::new(Chat::new(
        store.clone(),
        hub,
        metrics.clone(),
        Limits {
            max_message_chars: config.max_message_chars,
            history_page: config.history_page.clamp(1, 500),
            resume_max_per_conversation: config.resume_max_per_conversation.max(1),
            idle_after_ms: config.idle_after_secs.saturating_mul(1000),
            default_connection_mode: config.connection_mode,
            edit_window_ms: config.edit_window_secs.max(0).saturating_mul(1000),
            max_attachment_bytes: config.max_attachment_bytes,
            attachment_types: config.attachment_types.clone(),
            recent_threads: config.recent_threads,
        },
        Arc::new(files::DirBlobs::new(
            config
                .attachments_dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join(backup::ATTACHMENTS)),
        )),
        rate_limits.clone(),
    ));
    let stop_announcing = CancellationToken::new();
    let mut announcing = None;
    if let Some(url) = config.nats_url.as_ref() {
        let store::Engine::Postgres(postgres) = &engine else {
            anyhow::bail!("NATS_URL joins nodes that share one database: set DATABASE_URL too");
        };
        let hub = chat.hub().clone();
        postgres.on_committed(Box::new(move |ranges| hub.committed(ranges)));
        // What the bus loses is read from the database (weakly held: the hub is the
        // chat's own).
        let weak = Arc::downgrade(&chat);
        chat.hub().on_gap(Box::new(move |after| {
            if let Some(chat) = weak.upgrade() {
                tokio::spawn(async move { chat.fill_gap(after).await });
            }
        }));
        let settings = cluster::ClusterSettings {
            url: url.expose_str().to_owned(),
            prefix: config.nats_subject.clone(),
            heartbeat: std::time::Duration::from_millis(config.cluster_heartbeat_ms.max(10)),
            timing: hub::cluster::Timing {
                gap_wait: std::time::Duration::from_millis(config.cluster_gap_wait_ms.max(1)),
                node_expiry: std::time::Duration::from_millis(
                    config
                        .cluster_node_expiry_ms
                        .max(config.cluster_heartbeat_ms * 2),
                ),
            },
            queue: config.cluster_queue,
        };
        let last_event = {
            let store = store.clone();
            move || async move { Ok(store.last_event_id().await?) }
        };
        announcing = Some(
            cluster::join(
                settings,
                chat.hub().clone(),
                last_event,
                shutdown.clone(),
                stop_announcing.clone(),
            )
            .await?,
        );
    }
    // Sessions end on time for live connections too, not only for the next request.
    tokio::spawn(auth::sweep_sessions(
        store.clone(),
        chat.hub().clone(),
        shutdown.clone(),
    ));
    tokio::spawn(chat::settings::sweep_expired(
        chat.clone(),
        std::time::Duration::from_secs(config.retention_sweep_secs.max(1)),
        shutdown.clone(),
    ));
    let addr = listener.local_addr()?;
    if let Some(smtp) = config.smtp_url.as_ref() {
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let mailer = chat::email::Mailer::new(
            smtp.expose_str(),
            &config.email_from,
            public_url,
            std::time::Duration::from_secs(config.email_after_secs),
            std::time::Duration::from_secs(config.email_sweep_secs.max(1)),
        )?;
        tokio::spawn(chat::email::run(
            chat.clone(),
            mailer,
            std::time::Duration::from_secs(config.email_sweep_secs.max(1)),
            shutdown.clone(),
        ));
    }
    if let Some(host_addr) = config.demo_host_addr(addr) {
        // The demo host: another origin of the same name (same-site, so the widget's
        // cookie is first-party there even over plain HTTP).
        let loopback = |a: std::net::SocketAddr| {
            if a.ip().is_unspecified() {
                std::net::SocketAddr::new([127, 0, 0, 1].into(), a.port())
            } else {
                a
            }
        };
        let host_origin = format!("http://{}", loopback(host_addr));
        config.embed_origins.push(host_origin);
        let secret = config.sso_secret().expect("--demo always has a secret");
        let parley = format!("http://{}", loopback(addr));
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = demo_host::serve(host_addr, parley, secret, shutdown).await {
                tracing::warn!(error = %e, "the demo host did not start");
            }
        });
    }
    let assets = assets::Assets::load();
    let leptos_options = LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("parley"))
        .site_root(config.site_root.as_str())
        // The bundle's own folder, named by its content: cached for good.
        .site_pkg_dir(assets.pkg_dir())
        .site_addr(addr)
        .build();
    let connections = tokio_util::task::TaskTracker::new();
    let grace = std::time::Duration::from_millis(config.shutdown_grace_ms.max(1));
    let state = AppState {
        leptos_options,
        config: Arc::new(config),
        store,
        chat,
        metrics,
        shutdown: shutdown.clone(),
        connections: connections.clone(),
        assets,
        rate_limits,
    };
    let app = http::router(state);
    tracing::info!("Parley listening on http://{addr}");
    // No Nagle: small frames (acks, messages) go out at once instead of waiting up to
    // 40 ms for the peer's delayed ACK (it showed as the p99 of send→ack).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await?;
    // Shutting down: live connections answer what they have read and close with "going
    // away" (their clients reconnect, to another node when there are several), writes
    // already queued commit, the other nodes hear of them, and only then does it exit.
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "live connections still open after the shutdown grace period"
        );
    }
    if tokio::time::timeout(grace, engine.close()).await.is_err() {
        tracing::warn!("writes still uncommitted after the shutdown grace period");
    }
    stop_announcing.cancel();
    if let Some(announcing) = announcing
        && tokio::time::timeout(grace, announcing).await.is_err()
    {
        tracing::warn!("the last commits were not all announced to the other nodes");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Binds the configured address and serves until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.addr).await?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    start(config, listener, shutdown).await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
