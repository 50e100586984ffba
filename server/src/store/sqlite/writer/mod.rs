//! The one ordered path: every change that writes an event goes to this writer thread,
//! which takes whatever writes are waiting (up to a batch limit), runs them in one
//! `BEGIN IMMEDIATE` transaction and commits once — one fsync for the whole batch — then,
//! write by write in commit order, answers the caller and runs its [`AfterCommit`]
//! (fan-out). Event ids are taken in that same order, so every client receives events in
//! id order and one that resumes after event N has missed nothing below N. If anything
//! in a batch fails, the batch is rolled back and its writes are committed one by one, so
//! a bad write fails alone; nothing uncommitted is ever answered or published.
//!
//! The thread uses rusqlite directly, synchronously: through sqlx each statement is a
//! hand-off between threads, and those wake-ups cost more than the SQL (BENCHMARKS.md).
//!
//! - [`messages`]: appends, edits, deletes, reactions
//! - [`reads`]: read positions and mutes, each person's own
//! - [`conversations`]: direct conversations and order threads opened on first use, groups
//! - [`channels`]: channels created, renamed, archived, opened to others

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::mpsc;

use app::model::{ConversationId, EventId, UserId};

use crate::store::queue::{Job, WriteQueue, answer};
use crate::store::{AfterCommit, PendingWrite, StoreError, StoreResult, Write, Written};

mod channels;
mod conversations;
mod messages;
mod reads;

/// Writes waiting for the writer before callers wait to queue.
const QUEUE: usize = 4_096;

/// The handle the store keeps; cloning it is cheap.
#[derive(Clone)]
pub struct Writer {
    queue: WriteQueue,
}

/// How much of the database file the writer reads through a memory map.
const WRITER_MMAP_BYTES: i64 = 256 << 20;

impl Writer {
    /// Opens the writer's own connection to the (already migrated) database and starts
    /// its thread and the checkpointer's.
    pub fn start(path: &Path, settings: &super::SqliteSettings) -> StoreResult<Self> {
        let super::SqliteSettings {
            busy_timeout,
            max_batch,
            indexing,
            checkpoint_at_bytes,
            ..
        } = *settings;
        // One write per commit to the WAL instead of two per page (wal_vfs.rs).
        super::wal_vfs::register()?;
        let conn = Connection::open_with_flags_and_vfs(
            path,
            rusqlite::OpenFlags::default(),
            super::wal_vfs::VFS_NAME.to_str().expect("an ASCII name"),
        )?;
        conn.busy_timeout(busy_timeout)?;
        for (name, value) in super::CONNECTION_PRAGMAS {
            conn.pragma_update(None, name, value)?;
        }
        // Reads map the file instead of copying pages out of the kernel's cache (a larger
        // page cache was tried too: SQLite then spends a tenth of the writer's time
        // walking it at the end of every transaction).
        conn.pragma_update(None, "mmap_size", WRITER_MMAP_BYTES)?;
        // Checkpoints on a thread of their own, not inside a commit (checkpointer.rs).
        let checkpointer = super::checkpointer::Checkpointer::start(
            &conn,
            path,
            busy_timeout,
            checkpoint_at_bytes,
        )?;
        let (queue, rx) = WriteQueue::new(QUEUE);
        let runtime = tokio::runtime::Handle::try_current().ok();
        std::thread::Builder::new()
            .name("parley-writer".into())
            .spawn(move || {
                // The one ordered path: not `SCHED_BATCH` like the threads it wakes.
                crate::sched::normal_this_thread();
                let conn = run(conn, rx, max_batch.max(1), indexing, runtime);
                let (checkpointer, writer) = checkpointer.stop(&conn);
                tracing::info!(checkpointer, writer, "WAL checkpoints made");
            })
            .map_err(|e| StoreError::Corrupt(format!("could not start the writer: {e}")))?;
        Ok(Self { queue })
    }

    /// Writes submitted and not yet taken by the writer thread.
    /// Resolves once every write submitted so far is committed and answered.
    pub async fn settled(&self) {
        self.queue.settled().await
    }

    pub fn queued(&self) -> usize {
        self.queue.queued()
    }

    /// Queues a write; the returned future resolves when it is committed.
    pub async fn submit(
        &self,
        write: Write,
        after_commit: AfterCommit,
    ) -> StoreResult<PendingWrite> {
        self.queue.submit(write, after_commit).await
    }
}

/// When the writer fills the full-text index by itself.
#[derive(Clone, Copy, Debug)]
pub struct Indexing {
    /// After this many appends, busy or not.
    pub after_appends: usize,
    /// Once its queue is empty, at most this often.
    pub when_idle_every: Duration,
}

impl Default for Indexing {
    fn default() -> Self {
        Self {
            after_appends: 4_096,
            when_idle_every: Duration::from_millis(250),
        }
    }
}

/// The writer thread: runs until every [`Writer`] is gone. Between batches it fills the
/// full-text index with what was appended since it last did ([`Indexing`]): one FTS5
/// segment for thousands of messages instead of one per commit. A search asks for it
/// first ([`Write::IndexPending`]), so it finds every committed message. Hands the
/// connection back at the end.
fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    indexing: Indexing,
    runtime: Option<tokio::runtime::Handle>,
) -> Connection {
    let mut batch = Vec::with_capacity(max_batch);
    let mut unindexed = 0usize;
    let mut indexed_at = std::time::Instant::now();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        for job in &batch {
            match job.write {
                Write::Append(_) => unindexed += 1,
                Write::IndexPending => unindexed = 0,
                _ => {}
            }
        }
        commit_batch(&mut conn, &mut batch);
        if let Some(runtime) = &runtime {
            give_way(runtime);
        }
        let idle = rx.is_empty() && indexed_at.elapsed() >= indexing.when_idle_every;
        if unindexed >= indexing.after_appends || (unindexed > 0 && idle) {
            if let Err(e) = apply_alone(&mut conn, &Write::IndexPending) {
                tracing::warn!(error = %e, "could not fill the search index");
            }
            unindexed = 0;
            indexed_at = std::time::Instant::now();
        }
    }
    conn
}

/// The longest the writer waits for the runtime after a batch.
const GIVE_WAY_AT_MOST: Duration = Duration::from_millis(50);

/// Waits until the runtime has run what the batch's answers woke (the acks, the
/// deliveries): a task spawned now runs after them. The writer does not run ahead of
/// delivery, which the bounded connection queues would pay for, and on a shared core the
/// runtime wakes once per batch instead of once per answer (`sched.rs`).
fn give_way(runtime: &tokio::runtime::Handle) {
    let (done, wait) = std::sync::mpsc::sync_channel::<()>(1);
    runtime.spawn(async move {
        let _ = done.send(());
    });
    let _ = wait.recv_timeout(GIVE_WAY_AT_MOST);
}

fn commit_batch(conn: &mut Connection, batch: &mut Vec<Job>) {
    let results = match apply_all(conn, batch) {
        Ok(results) => results,
        Err(e) => {
            tracing::warn!(error = %e, writes = batch.len(), "batch failed; retrying one by one");
            batch
                .iter()
                .map(|job| apply_alone(conn, &job.write))
                .collect()
        }
    };
    answer(batch, results, || {});
}

/// Every write of the batch in one transaction, one commit.
fn apply_all(conn: &mut Connection, batch: &[Job]) -> StoreResult<Vec<StoreResult<Written>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut own_reads = OwnReads::default();
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(Ok(apply(&tx, &job.write, &mut own_reads)?));
    }
    own_reads.write(&tx)?;
    tx.commit()?;
    Ok(results)
}

fn apply_alone(conn: &mut Connection, write: &Write) -> StoreResult<Written> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut own_reads = OwnReads::default();
    let written = apply(&tx, write, &mut own_reads)?;
    own_reads.write(&tx)?;
    tx.commit()?;
    Ok(written)
}

/// The read positions a batch's appends move: a sender has read their own message and
/// what came before it. Kept per (sender, conversation) and written once, before the
/// commit or before any other kind of write, which may read them.
#[derive(Default)]
pub(super) struct OwnReads(std::collections::HashMap<(i64, i64), i64>);

impl OwnReads {
    fn note(&mut self, user: i64, conversation: i64, seq: i64) {
        let seen = self.0.entry((user, conversation)).or_default();
        *seen = (*seen).max(seq);
    }

    fn write(&mut self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        for ((user, conversation), seq) in self.0.drain() {
            tx.prepare_cached(
                "INSERT INTO read_state (user_id, conversation_id, last_read_seq) VALUES (?, ?, ?) \
                 ON CONFLICT (user_id, conversation_id) DO UPDATE \
                 SET last_read_seq = max(last_read_seq, excluded.last_read_seq)",
            )?
            .execute(params![user, conversation, seq])?;
        }
        Ok(())
    }
}

/// One write inside the batch's transaction.
fn apply(
    tx: &rusqlite::Transaction<'_>,
    write: &Write,
    own_reads: &mut OwnReads,
) -> StoreResult<Written> {
    if !matches!(write, Write::Append(_)) {
        own_reads.write(tx)?;
    }
    match write {
        Write::Append(message) => messages::append(tx, message, own_reads).map(Written::Appended),
        Write::MarkRead {
            user,
            conversation,
            seq,
            now_ms,
        } => reads::mark_read(tx, *user, *conversation, *seq, *now_ms).map(Written::Read),
        Write::SetMuted {
            user,
            conversation,
            muted,
            now_ms,
        } => reads::set_muted(tx, *user, *conversation, *muted, *now_ms).map(Written::Muted),
        Write::OpenDirect { a, b, now_ms } => {
            conversations::open_direct(tx, *a, *b, *now_ms).map(Written::Opened)
        }
        Write::OpenThread {
            reference,
            organisations,
            now_ms,
        } => conversations::open_thread(tx, reference, organisations, *now_ms).map(Written::Opened),
        Write::CreateChannel {
            name,
            organisations,
            roles,
            actor,
            now_ms,
        } => channels::create_channel(tx, name, organisations, roles, *actor, *now_ms),
        Write::ChangeChannel {
            conversation,
            change,
            actor,
            now_ms,
        } => channels::change_channel(tx, *conversation, change, *actor, *now_ms),
        Write::CreateGroup {
            slug,
            members,
            name,
            now_ms,
        } => conversations::create_group(tx, slug, members, name.as_deref(), *now_ms)
            .map(Written::Opened),
        Write::AddMembers {
            conversation,
            users,
            now_ms,
        } => conversations::add_members(tx, *conversation, users, *now_ms),
        Write::Leave {
            conversation,
            user,
            now_ms,
        } => conversations::leave(tx, *conversation, *user, *now_ms),
        Write::Edit {
            message,
            replaces,
            body,
            now_ms,
        } => messages::edit(tx, *message, *replaces, body, *now_ms),
        Write::Delete {
            message,
            actor,
            now_ms,
        } => messages::delete(tx, *message, *actor, *now_ms),
        Write::Purge { before_ms, limit } => messages::purge(tx, *before_ms, *limit),
        Write::IndexPending => messages::index_pending(tx),
        Write::React {
            message,
            user,
            emoji,
            on,
            now_ms,
        } => messages::react(tx, *message, *user, *emoji, *on, *now_ms),
    }
}

/// Appends an event about one person's part in a conversation (`membership`, `mute`).
fn user_event(
    tx: &rusqlite::Transaction<'_>,
    kind: &str,
    conversation: ConversationId,
    user: UserId,
    now_ms: i64,
) -> rusqlite::Result<EventId> {
    // No `RETURNING` (see messages::append): the row id is the event id.
    tx.prepare_cached(
        "INSERT INTO events (kind, conversation_id, user_id, created_at_ms) VALUES (?, ?, ?, ?)",
    )?
    .execute(params![kind, conversation.0, user.0, now_ms])?;
    Ok(EventId(tx.last_insert_rowid()))
}

/// Appends an event in the transaction that makes the change it records.
fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    kind: &str,
    conversation: i64,
    message: Option<i64>,
    read: Option<(i64, i64)>,
    now_ms: i64,
) -> rusqlite::Result<EventId> {
    // No `RETURNING` (see messages::append): the row id is the event id.
    tx.prepare_cached(
        "INSERT INTO events (kind, conversation_id, message_id, user_id, seq, created_at_ms) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        kind,
        conversation,
        message,
        read.map(|(user, _)| user),
        read.map(|(_, seq)| seq),
        now_ms
    ])?;
    Ok(EventId(tx.last_insert_rowid()))
}
