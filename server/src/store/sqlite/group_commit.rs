//! Group commit: every message append goes to one writer thread, which takes whatever
//! appends are waiting (up to a batch limit), runs them in one `BEGIN IMMEDIATE`
//! transaction and commits once — one fsync for the whole batch — then, append by append
//! in commit order, answers the caller and runs its [`AfterCommit`] (fan-out, so every
//! conversation is published in `seq` order). If anything in a batch fails, the batch is
//! rolled back and its appends are committed one by one, so a bad append fails alone;
//! nothing uncommitted is ever acked or published.
//!
//! The thread uses rusqlite directly, synchronously: through sqlx each statement is a
//! hand-off between threads, and those wake-ups cost more than the SQL (BENCHMARKS.md).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use app::model::{ConversationId, EventId, Mentions, Message, MessageId, UserId};

use crate::store::{AfterCommit, Appended, NewMessage, PendingAppend, StoreError, StoreResult};

/// Appends waiting for the writer before callers wait to queue.
const QUEUE: usize = 4_096;

struct Job {
    message: NewMessage,
    after_commit: AfterCommit,
    reply: oneshot::Sender<StoreResult<Appended>>,
}

/// The handle the store keeps; cloning it is cheap.
#[derive(Clone)]
pub struct Appender {
    jobs: mpsc::Sender<Job>,
}

/// How much of the database file the writer reads through a memory map.
const WRITER_MMAP_BYTES: i64 = 256 << 20;

impl Appender {
    /// Opens the writer's own connection to the (already migrated) database and starts
    /// its thread; batches hold at most `max_batch` appends.
    pub fn start(path: &Path, busy_timeout: Duration, max_batch: usize) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(busy_timeout)?;
        for (name, value) in super::CONNECTION_PRAGMAS {
            conn.pragma_update(None, name, value)?;
        }
        // Reads map the file instead of copying pages out of the kernel's cache (a larger
        // page cache was tried too: SQLite then spends a tenth of the writer's time
        // walking it at the end of every transaction).
        conn.pragma_update(None, "mmap_size", WRITER_MMAP_BYTES)?;
        let (jobs, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("parley-writer".into())
            .spawn(move || run(conn, rx, max_batch.max(1)))
            .map_err(|e| StoreError::Corrupt(format!("could not start the writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Queues an append (waiting only for room in the queue); the returned future
    /// resolves when it is committed.
    pub async fn submit(
        &self,
        message: NewMessage,
        after_commit: AfterCommit,
    ) -> StoreResult<PendingAppend> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                message,
                after_commit,
                reply,
            })
            .await
            .map_err(|_| StoreError::Corrupt("the writer has stopped".into()))?;
        Ok(Box::pin(async move {
            answer
                .await
                .map_err(|_| StoreError::Corrupt("the writer dropped an append".into()))?
        }))
    }
}

/// The writer thread: runs until every [`Appender`] is gone.
fn run(mut conn: Connection, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, &mut batch);
    }
}

fn commit_batch(conn: &mut Connection, batch: &mut Vec<Job>) {
    let results = match append_all(conn, batch) {
        Ok(results) => results,
        Err(e) => {
            tracing::warn!(error = %e, appends = batch.len(), "batch failed; retrying one by one");
            batch
                .iter()
                .map(|job| append_alone(conn, &job.message))
                .collect()
        }
    };
    for (job, result) in batch.drain(..).zip(results) {
        // The caller hears first, so the sender's connection can ack before the fan-out
        // reaches it; the fan-out still runs here, in commit order.
        let appended = result.as_ref().ok().cloned();
        let _ = job.reply.send(result);
        if let Some(appended) = appended {
            (job.after_commit)(&appended);
        }
    }
}

/// Every append of the batch in one transaction, one commit.
fn append_all(
    conn: &mut Connection,
    batch: &[Job],
) -> rusqlite::Result<Vec<StoreResult<Appended>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(Ok(append(&tx, &job.message)?));
    }
    tx.commit()?;
    Ok(results)
}

fn append_alone(conn: &mut Connection, message: &NewMessage) -> StoreResult<Appended> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let appended = append(&tx, message)?;
    tx.commit()?;
    Ok(appended)
}

/// One append inside a transaction: the message with the next `seq` (a resend of a
/// `client_id` inserts nothing and returns the earlier message), its event, the sender's
/// read position, and its mentions. Three statements in the common case.
fn append(tx: &rusqlite::Transaction<'_>, message: &NewMessage) -> rusqlite::Result<Appended> {
    let client_id = message.client_id.to_string();
    let inserted: Option<(i64, i64)> = tx
        .prepare_cached(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms) \
             SELECT ?1, last_seq + 1, ?2, ?3, ?4, ?5 FROM conversations WHERE id = ?1 \
             ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq",
        )?
        .query_row(
            params![
                message.conversation_id.0,
                message.sender_id.0,
                client_id,
                message.body,
                message.created_at_ms
            ],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((id, seq)) = inserted else {
        return earlier(tx, message, &client_id);
    };
    let event_id: i64 = tx
        .prepare_cached(
            "INSERT INTO events (kind, conversation_id, message_id, created_at_ms) \
             VALUES ('message', ?, ?, ?) RETURNING id",
        )?
        .query_row(
            params![message.conversation_id.0, id, message.created_at_ms],
            |row| row.get(0),
        )?;
    tx.prepare_cached(
        "INSERT INTO read_state (user_id, conversation_id, last_read_seq) VALUES (?, ?, ?) \
         ON CONFLICT (user_id, conversation_id) DO UPDATE \
         SET last_read_seq = max(last_read_seq, excluded.last_read_seq)",
    )?
    .execute(params![message.sender_id.0, message.conversation_id.0, seq])?;
    let mentions = Mentions::of(&message.body);
    if mentions.everyone {
        tx.prepare_cached("UPDATE messages SET mentions_everyone = 1 WHERE id = ?")?
            .execute(params![id])?;
    }
    for username in &mentions.usernames {
        tx.prepare_cached(
            "INSERT INTO mentions (message_id, user_id) \
             SELECT ?, id FROM users WHERE lower(username) = ? ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, username])?;
    }
    Ok(Appended {
        message: Message {
            id: MessageId(id),
            conversation_id: message.conversation_id,
            seq,
            sender_id: message.sender_id,
            sender_name: message.sender_name.clone(),
            client_id: message.client_id,
            body: message.body.clone(),
            created_at_ms: message.created_at_ms,
        },
        event_id: Some(EventId(event_id)),
    })
}

/// The message stored earlier under the same (sender, client id).
fn earlier(
    tx: &rusqlite::Transaction<'_>,
    message: &NewMessage,
    client_id: &str,
) -> rusqlite::Result<Appended> {
    tx.prepare_cached(
        "SELECT m.id, m.conversation_id, m.seq, m.body, m.created_at_ms, u.display_name \
         FROM messages m JOIN users u ON u.id = m.sender_id \
         WHERE m.sender_id = ? AND m.client_id = ?",
    )?
    .query_row(params![message.sender_id.0, client_id], |row| {
        Ok(Appended {
            message: Message {
                id: MessageId(row.get(0)?),
                conversation_id: ConversationId(row.get(1)?),
                seq: row.get(2)?,
                sender_id: UserId(message.sender_id.0),
                sender_name: row.get(5)?,
                client_id: message.client_id,
                body: row.get(3)?,
                created_at_ms: row.get(4)?,
            },
            event_id: None,
        })
    })
}
