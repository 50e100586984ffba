//! The storage sections on PostgreSQL (issue 10), for several Parley nodes on one
//! database, chosen by `DATABASE_URL=postgres://…`: the same sections as SQLite's
//! ([`accounts`], [`api_tokens`], [`attachments`], [`audit`], [`conversations`],
//! [`events`], [`messages`] with `tsvector` search, [`notifications`], [`orders`] with
//! the settings; the reads both engines phrase alike are in `store/reads.rs`), and the
//! group-commit [`writer`] that every change with an event goes through.
//!
//! The schema is `migrations/postgres/` (one reversible migration for everything SQLite
//! reached through its own), with the invariants several writers need in the database
//! itself: see the top of `0001_schema.up.sql`.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{AfterCommit, PendingWrite, StoreResult, Write, Writes};

mod accounts;
mod api_tokens;
mod attachments;
mod audit;
mod conversations;
mod events;
mod messages;
mod notifications;
mod orders;
mod writer;

pub use writer::OnCommitted;

/// The migrations for this engine, embedded in the binary and applied at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// How the pool to PostgreSQL is sized.
#[derive(Clone, Debug)]
pub struct PostgresSettings {
    /// Connections this node keeps open at most: each is a server process on the
    /// database side, so a cluster's nodes share its `max_connections`.
    pub max_connections: u32,
    /// How long a query waits for a free connection before failing.
    pub acquire_timeout: Duration,
    /// Most writes committed together (group commit).
    pub max_batch: usize,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            max_batch: 256,
        }
    }
}

/// The messages that count as unread for user `$1` in conversation `c`, after read
/// position `r` (SQL over `messages m`): by others, after it, not deleted.
pub(crate) const UNREAD_MESSAGES: &str =
    "m.sender_id <> $1 AND m.deleted_at_ms IS NULL AND m.seq > COALESCE(r.last_read_seq, 0)";

/// Of [`UNREAD_MESSAGES`], the ones that mention user `$1` (or everyone).
pub(crate) const MENTIONING: &str = "(m.mentions_everyone OR EXISTS (SELECT 1 FROM mentions x \
     WHERE x.user_id = $1 AND x.message_id = m.id))";

pub struct PostgresStore {
    pool: PgPool,
    ordered: writer::Writer,
}

impl PostgresStore {
    /// Connects to `url` and applies pending migrations (under PostgreSQL's advisory
    /// lock, so nodes starting together apply each once).
    pub async fn open(url: &str, settings: &PostgresSettings) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        let ordered = writer::Writer::start(pool.clone(), settings.max_batch);
        Ok(Self { pool, ordered })
    }

    /// Waits for the writes already submitted to commit, then closes the pool.
    pub async fn close(&self) {
        self.ordered.settled().await;
        self.pool.close().await;
    }

    /// Tells `tell` the event ids of each transaction the writer commits (for a cluster).
    pub fn on_committed(&self, tell: writer::OnCommitted) {
        self.ordered.on_committed(tell);
    }
}

#[async_trait::async_trait]
impl Writes for PostgresStore {
    async fn submit(&self, write: Write, after_commit: AfterCommit) -> StoreResult<PendingWrite> {
        self.ordered.submit(write, after_commit).await
    }

    fn queued_writes(&self) -> usize {
        self.ordered.queued()
    }
}
