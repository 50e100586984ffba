//! Group commit: every append goes to one writer task, which takes whatever appends are
//! waiting (up to a batch limit), runs each in its own savepoint inside one transaction,
//! commits once — one fsync for the whole batch — then runs each append's
//! [`AfterCommit`] in commit order (fan-out, so every conversation is published in `seq`
//! order) and only then answers each caller. An append that fails rolls back to its
//! savepoint and fails alone; a failed commit fails the whole batch, and nothing in it is
//! acked or published.

use sqlx::sqlite::SqlitePool;
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot};

use app::model::{Mentions, Message, MessageId};

use super::{MESSAGE_COLUMNS, SqliteStore, message_from_row};
use crate::store::{AfterCommit, Appended, NewMessage, StoreError, StoreResult};

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

    pub async fn append(
        &self,
        message: NewMessage,
        after_commit: AfterCommit,
    ) -> StoreResult<Appended> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                message,
                after_commit,
                reply,
            })
            .await
            .map_err(|_| StoreError::Corrupt("the writer task has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Corrupt("the writer task dropped an append".into()))?
    }
}

async fn run(writer: SqlitePool, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        commit_batch(&writer, &mut batch).await;
    }
}

async fn commit_batch(writer: &SqlitePool, batch: &mut Vec<Job>) {
    let mut tx = match writer.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &e.to_string()),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch.iter() {
        results.push(append_in_savepoint(&mut tx, &job.message).await);
    }
    if let Err(e) = tx.commit().await {
        return fail_all(batch, &e.to_string());
    }
    for (job, result) in batch.drain(..).zip(results) {
        if let Ok(appended) = &result {
            (job.after_commit)(appended);
        }
        let _ = job.reply.send(result);
    }
}

fn fail_all(batch: &mut Vec<Job>, why: &str) {
    tracing::error!(error = why, appends = batch.len(), "group commit failed");
    for job in batch.drain(..) {
        let _ = job
            .reply
            .send(Err(StoreError::Corrupt(format!("commit failed: {why}"))));
    }
}

async fn append_in_savepoint(
    tx: &mut Transaction<'_, Sqlite>,
    message: &NewMessage,
) -> StoreResult<Appended> {
    let mut savepoint = sqlx::Connection::begin(&mut **tx).await?;
    match append(&mut savepoint, message).await {
        Ok(appended) => {
            savepoint.commit().await?;
            Ok(appended)
        }
        Err(e) => {
            savepoint.rollback().await?;
            Err(e)
        }
    }
}

/// One append inside the batch's transaction: the duplicate check, the next `seq`, the
/// message, its mentions, the sender's read position and the event.
async fn append(tx: &mut Transaction<'_, Sqlite>, message: &NewMessage) -> StoreResult<Appended> {
    let client_id = message.client_id.to_string();
    let earlier = sqlx::query(&format!(
        "SELECT {MESSAGE_COLUMNS} WHERE m.sender_id = ? AND m.client_id = ?"
    ))
    .bind(message.sender_id.0)
    .bind(&client_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = earlier {
        return Ok(Appended {
            message: message_from_row(&row)?,
            event_id: None,
        });
    }
    let seq: i64 = sqlx::query(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
    )
    .bind(message.conversation_id.0)
    .fetch_one(&mut **tx)
    .await?
    .try_get("last_seq")?;
    let id: i64 = sqlx::query(
        "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(message.conversation_id.0)
    .bind(seq)
    .bind(message.sender_id.0)
    .bind(&client_id)
    .bind(&message.body)
    .bind(message.created_at_ms)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
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
    let event_id = SqliteStore::insert_event(
        tx,
        "message",
        message.conversation_id.0,
        Some(id),
        None,
        message.created_at_ms,
    )
    .await?;
    let sender_name: String = sqlx::query("SELECT display_name FROM users WHERE id = ?")
        .bind(message.sender_id.0)
        .fetch_one(&mut **tx)
        .await?
        .try_get("display_name")?;
    Ok(Appended {
        message: Message {
            id: MessageId(id),
            conversation_id: message.conversation_id,
            seq,
            sender_id: message.sender_id,
            sender_name,
            client_id: message.client_id,
            body: message.body.clone(),
            created_at_ms: message.created_at_ms,
        },
        event_id: Some(event_id),
    })
}
