//! Group commit: every append goes to one writer task, which takes whatever appends are
//! waiting (up to a batch limit), runs them in one transaction and commits once — one
//! fsync for the whole batch — then, append by append in commit order, answers the caller
//! and runs its [`AfterCommit`] (fan-out, so every conversation is published in `seq`
//! order). If anything in a batch fails, the batch is rolled back and its appends are
//! committed one by one, so a bad append fails alone; nothing uncommitted is ever acked or
//! published.

use sqlx::sqlite::SqlitePool;
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot};

use app::model::{Mentions, Message, MessageId};

use super::{MESSAGE_COLUMNS, SqliteStore, message_from_row};
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

impl Appender {
    /// Starts the writer task on `writer` (a pool of one connection); batches hold at
    /// most `max_batch` appends.
    pub fn start(writer: SqlitePool, max_batch: usize) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(writer, rx, max_batch.max(1)));
        Self { jobs }
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
            .map_err(|_| StoreError::Corrupt("the writer task has stopped".into()))?;
        Ok(Box::pin(async move {
            answer
                .await
                .map_err(|_| StoreError::Corrupt("the writer task dropped an append".into()))?
        }))
    }
}

async fn run(writer: SqlitePool, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        commit_batch(&writer, &mut batch).await;
    }
}

async fn commit_batch(writer: &SqlitePool, batch: &mut Vec<Job>) {
    let results = match append_all(writer, batch).await {
        Ok(results) => results,
        Err(e) => {
            // Something in the batch failed (and the batch was rolled back): commit each
            // append on its own so that one bad append fails alone.
            tracing::warn!(error = %e, appends = batch.len(), "batch failed; retrying one by one");
            let mut results = Vec::with_capacity(batch.len());
            for job in batch.iter() {
                results.push(append_alone(writer, &job.message).await);
            }
            results
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
async fn append_all(writer: &SqlitePool, batch: &[Job]) -> StoreResult<Vec<StoreResult<Appended>>> {
    let mut tx = writer.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        results.push(Ok(append(&mut tx, &job.message).await?));
    }
    tx.commit().await?;
    Ok(results)
}

async fn append_alone(writer: &SqlitePool, message: &NewMessage) -> StoreResult<Appended> {
    let mut tx = writer.begin().await?;
    let appended = append(&mut tx, message).await?;
    tx.commit().await?;
    Ok(appended)
}

/// One append inside a transaction: the message with the next `seq` (a resend of a
/// `client_id` inserts nothing and returns the earlier message), its event, the sender's
/// read position, and its mentions. Three statements in the common case.
async fn append(tx: &mut Transaction<'_, Sqlite>, message: &NewMessage) -> StoreResult<Appended> {
    let client_id = message.client_id.to_string();
    let inserted = sqlx::query(
        "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms) \
         SELECT ?1, last_seq + 1, ?2, ?3, ?4, ?5 FROM conversations WHERE id = ?1 \
         ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, seq",
    )
    .bind(message.conversation_id.0)
    .bind(message.sender_id.0)
    .bind(&client_id)
    .bind(&message.body)
    .bind(message.created_at_ms)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(inserted) = inserted else {
        let earlier = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} WHERE m.sender_id = ? AND m.client_id = ?"
        ))
        .bind(message.sender_id.0)
        .bind(&client_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            StoreError::Corrupt(format!("no conversation {}", message.conversation_id))
        })?;
        return Ok(Appended {
            message: message_from_row(&earlier)?,
            event_id: None,
        });
    };
    let id: i64 = inserted.try_get("id")?;
    let seq: i64 = inserted.try_get("seq")?;
    let event_id = SqliteStore::insert_event(
        tx,
        "message",
        message.conversation_id.0,
        Some(id),
        None,
        message.created_at_ms,
    )
    .await?;
    sqlx::query(
        "INSERT INTO read_state (user_id, conversation_id, last_read_seq) VALUES (?, ?, ?) \
         ON CONFLICT (user_id, conversation_id) DO UPDATE \
         SET last_read_seq = max(last_read_seq, excluded.last_read_seq)",
    )
    .bind(message.sender_id.0)
    .bind(message.conversation_id.0)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    let mentions = Mentions::of(&message.body);
    if mentions.everyone {
        sqlx::query("UPDATE messages SET mentions_everyone = 1 WHERE id = ?")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    for username in &mentions.usernames {
        sqlx::query(
            "INSERT INTO mentions (message_id, user_id) \
             SELECT ?, id FROM users WHERE lower(username) = ? ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(username)
        .execute(&mut **tx)
        .await?;
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
        event_id: Some(event_id),
    })
}
