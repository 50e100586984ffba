//! The one ordered path on PostgreSQL: a task per node that takes whatever writes are
//! waiting (up to a batch limit) and applies them in one transaction, committing once;
//! then, write by write in commit order, it answers the caller and runs the
//! [`AfterCommit`](crate::store::AfterCommit) (fan-out), as SQLite's writer does.
//!
//! Several nodes write into one database, so two things SQLite's single writer got for
//! free are taken under row locks (see the top of `migrations/postgres/0001_schema.up.sql`):
//!
//! - a run of appends locks its conversations' rows in id order (no deadlock between
//!   nodes), gives each message the next `seq` and inserts them all in one statement;
//! - events are collected while the batch is applied and written last, each numbered
//!   from the `event_counter` row (a trigger), whose lock is held to the commit: event
//!   ids follow commit order across nodes, so a reader resuming after id N never misses
//!   a lower id that commits later. The events are the batch's last step, so the lock
//!   is held only for the commit.
//!
//! If anything in a batch fails (a deadlock with another node, a client id another node
//! stored a moment earlier), the batch is rolled back and its writes are applied one by
//! one, so a bad write fails alone; nothing uncommitted is ever answered or published.
//!
//! - [`messages`]: appends, edits, deletes, reactions, retention
//! - [`reads`]: read positions and mutes, each person's own
//! - [`conversations`]: direct conversations and order threads opened on first use, groups
//! - [`channels`]: channels created, renamed, archived, opened to others

use std::sync::{Arc, OnceLock};

use sqlx::postgres::{PgConnection, PgPool};
use tokio::sync::mpsc;

use app::model::{ConversationId, EventId, UserId};

use crate::store::queue::{Job, WriteQueue, answer};
use crate::store::{AfterCommit, PendingWrite, StoreResult, Write, Written};

mod channels;
mod conversations;
mod messages;
mod reads;

/// Writes waiting for the writer before callers wait to queue.
const QUEUE: usize = 4_096;

/// Told, after each batch's after-commit steps, the event ids each of its transactions
/// wrote (first and last, in commit order): how a cluster's hub learns which ids this
/// node committed.
pub type OnCommitted = Box<dyn Fn(&[(EventId, EventId)]) + Send + Sync>;

/// The handle the store keeps; cloning it is cheap.
#[derive(Clone)]
pub struct Writer {
    queue: WriteQueue,
    on_committed: Arc<OnceLock<OnCommitted>>,
}

impl Writer {
    /// Starts the writer task on `pool`; batches hold at most `max_batch` writes.
    pub fn start(pool: PgPool, max_batch: usize) -> Self {
        let (queue, rx) = WriteQueue::new(QUEUE);
        let on_committed = Arc::new(OnceLock::new());
        tokio::spawn(run(pool, rx, max_batch.max(1), on_committed.clone()));
        Self {
            queue,
            on_committed,
        }
    }

    /// Sets what to tell of each batch's event ids (once; later calls are ignored).
    pub fn on_committed(&self, tell: OnCommitted) {
        let _ = self.on_committed.set(tell);
    }

    /// Resolves once every write submitted so far is committed and answered.
    pub async fn settled(&self) {
        self.queue.settled().await
    }

    pub fn queued(&self) -> usize {
        self.queue.queued()
    }

    pub async fn submit(
        &self,
        write: Write,
        after_commit: AfterCommit,
    ) -> StoreResult<PendingWrite> {
        self.queue.submit(write, after_commit).await
    }
}

/// The writer task: runs until every [`Writer`] is gone.
async fn run(
    pool: PgPool,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    on_committed: Arc<OnceLock<OnCommitted>>,
) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut ranges = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let writes: Vec<&Write> = batch.iter().map(|job| &job.write).collect();
        ranges.clear();
        let results = match apply_in_one(&pool, &writes).await {
            Ok((results, range)) => {
                ranges.extend(range);
                results
            }
            Err(e) => {
                tracing::warn!(error = %e, writes = writes.len(), "batch failed; retrying one by one");
                let mut results = Vec::with_capacity(writes.len());
                for write in &writes {
                    results.push(
                        apply_in_one(&pool, std::slice::from_ref(write))
                            .await
                            .and_then(|(mut one, range)| {
                                ranges.extend(range);
                                one.pop().expect("one write, one result")
                            }),
                    );
                }
                results
            }
        };
        // The other nodes hear of the batch before it stops counting as in flight, so a
        // shutdown that waits for the writer to settle announces every commit.
        answer(&mut batch, results, || {
            if let Some(tell) = on_committed.get()
                && !ranges.is_empty()
            {
                tell(&ranges);
            }
        });
    }
}

/// What one transaction answers: each write's result, and the event ids it wrote.
type Applied = (Vec<StoreResult<Written>>, Option<(EventId, EventId)>);

/// `writes` in one transaction, one commit; every result is `Ok` (a failure fails all).
async fn apply_in_one(pool: &PgPool, writes: &[&Write]) -> StoreResult<Applied> {
    let mut tx = pool.begin().await?;
    let mut batch = Batch {
        conn: &mut tx,
        events: Vec::new(),
    };
    let mut results = Vec::with_capacity(writes.len());
    let mut at = 0;
    while at < writes.len() {
        // A run of appends goes in together: one lock of their conversations, one insert.
        let run = writes[at..]
            .iter()
            .take_while(|w| matches!(w, Write::Append(_)))
            .filter_map(|w| match w {
                Write::Append(message) => Some(message),
                _ => None,
            })
            .collect::<Vec<_>>();
        if run.is_empty() {
            results.push(apply(&mut batch, writes[at]).await?);
            at += 1;
        } else {
            at += run.len();
            results.extend(
                messages::append(&mut batch, &run)
                    .await?
                    .into_iter()
                    .map(Written::Appended),
            );
        }
    }
    let count = batch.events.len() as i64;
    let first = batch.write_events().await?;
    tx.commit().await?;
    if let Some(first) = first {
        for written in &mut results {
            renumber(written, first - 1);
        }
    }
    let range = first
        .filter(|_| count > 0)
        .map(|first| (EventId(first), EventId(first + count - 1)));
    Ok((results.into_iter().map(Ok).collect(), range))
}

/// One write (other than an append) inside the batch's transaction.
async fn apply(batch: &mut Batch<'_>, write: &Write) -> StoreResult<Written> {
    match write {
        Write::Append(message) => messages::append(batch, &[message])
            .await?
            .pop()
            .map(Written::Appended)
            .ok_or_else(|| crate::store::StoreError::Corrupt("an append vanished".into())),
        Write::MarkRead {
            user,
            conversation,
            seq,
            now_ms,
        } => reads::mark_read(batch, *user, *conversation, *seq, *now_ms)
            .await
            .map(Written::Read),
        Write::SetMuted {
            user,
            conversation,
            muted,
            now_ms,
        } => reads::set_muted(batch, *user, *conversation, *muted, *now_ms)
            .await
            .map(Written::Muted),
        Write::OpenDirect { a, b, now_ms } => conversations::open_direct(batch, *a, *b, *now_ms)
            .await
            .map(Written::Opened),
        Write::OpenThread {
            reference,
            organisations,
            now_ms,
        } => conversations::open_thread(batch, reference, organisations, *now_ms)
            .await
            .map(Written::Opened),
        Write::CreateChannel {
            name,
            organisations,
            roles,
            actor,
            now_ms,
        } => channels::create_channel(batch, name, organisations, roles, *actor, *now_ms).await,
        Write::ChangeChannel {
            conversation,
            change,
            actor,
            now_ms,
        } => channels::change_channel(batch, *conversation, change, *actor, *now_ms).await,
        Write::CreateGroup {
            slug,
            members,
            name,
            now_ms,
        } => conversations::create_group(batch, slug, members, name.as_deref(), *now_ms)
            .await
            .map(Written::Opened),
        Write::AddMembers {
            conversation,
            users,
            now_ms,
        } => conversations::add_members(batch, *conversation, users, *now_ms).await,
        Write::Leave {
            conversation,
            user,
            now_ms,
        } => conversations::leave(batch, *conversation, *user, *now_ms).await,
        Write::Edit {
            message,
            replaces,
            body,
            now_ms,
        } => messages::edit(batch, *message, *replaces, body, *now_ms).await,
        Write::Delete {
            message,
            actor,
            now_ms,
        } => messages::delete(batch, *message, *actor, *now_ms).await,
        Write::React {
            message,
            user,
            emoji,
            on,
            now_ms,
        } => messages::react(batch, *message, *user, *emoji, *on, *now_ms).await,
        Write::Purge { before_ms, limit } => messages::purge(batch, *before_ms, *limit).await,
        // The `tsvector` column and its GIN index follow every write by themselves.
        Write::IndexPending => Ok(Written::Indexed(0)),
    }
}

/// An event waiting for its id.
struct PendingEvent {
    kind: &'static str,
    conversation: i64,
    message: Option<i64>,
    user: Option<i64>,
    seq: Option<i64>,
    created_at_ms: i64,
}

/// A batch being applied: its transaction's connection, and the events it will write.
pub(super) struct Batch<'c> {
    pub conn: &'c mut PgConnection,
    events: Vec<PendingEvent>,
}

impl Batch<'_> {
    /// Records an event of the change being made, in order. Its id is provisional (its
    /// place in the batch, from 1) until [`Batch::write_events`] numbers the batch.
    fn event(
        &mut self,
        kind: &'static str,
        conversation: i64,
        message: Option<i64>,
        read: Option<(i64, i64)>,
        created_at_ms: i64,
    ) -> EventId {
        self.events.push(PendingEvent {
            kind,
            conversation,
            message,
            user: read.map(|(user, _)| user),
            seq: read.map(|(_, seq)| seq),
            created_at_ms,
        });
        EventId(self.events.len() as i64)
    }

    /// An event about one person's part in a conversation (`membership`, `mute`).
    fn user_event(
        &mut self,
        kind: &'static str,
        conversation: ConversationId,
        user: UserId,
        now_ms: i64,
    ) -> EventId {
        self.events.push(PendingEvent {
            kind,
            conversation: conversation.0,
            message: None,
            user: Some(user.0),
            seq: None,
            created_at_ms: now_ms,
        });
        EventId(self.events.len() as i64)
    }

    /// Writes the batch's events, in order; returns the first one's id, `None` when
    /// there were none. Each takes its id from the `event_counter` row (the schema's
    /// trigger), whose lock is then held to the commit: the batch's ids are consecutive.
    async fn write_events(&mut self) -> StoreResult<Option<i64>> {
        if self.events.is_empty() {
            return Ok(None);
        }
        let events = std::mem::take(&mut self.events);
        let ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO events (kind, conversation_id, message_id, user_id, seq, created_at_ms) \
             SELECT kind, conversation_id, message_id, user_id, seq, created_at_ms \
             FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) \
                  WITH ORDINALITY AS e (kind, conversation_id, message_id, user_id, seq, created_at_ms, ord) \
             ORDER BY ord RETURNING id",
        )
        .bind(events.iter().map(|e| e.kind).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.conversation).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.message).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.user).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.seq).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.created_at_ms).collect::<Vec<_>>())
        .fetch_all(&mut *self.conn)
        .await?;
        let first = ids.iter().copied().min().unwrap_or_default();
        let last = ids.iter().copied().max().unwrap_or_default();
        if ids.len() != events.len() || last - first + 1 != events.len() as i64 {
            return Err(crate::store::StoreError::Corrupt(format!(
                "a batch's {} events took ids {first}..={last}",
                events.len()
            )));
        }
        Ok(Some(first))
    }
}

/// Turns the provisional event ids in `written` into the numbered ones.
fn renumber(written: &mut Written, offset: i64) {
    let shift = |id: &mut EventId| id.0 += offset;
    match written {
        Written::Appended(appended) => appended.event_id.iter_mut().for_each(shift),
        Written::Read(position) => position.event_id.iter_mut().for_each(shift),
        Written::Muted(event) => event.iter_mut().for_each(shift),
        Written::Opened(opened) => opened.created.iter_mut().for_each(shift),
        Written::Changed(changed) => changed.event_id.iter_mut().for_each(shift),
        Written::Membership { changes, .. } => {
            changes.iter_mut().for_each(|(_, id)| shift(id));
        }
        Written::ChannelChanged(changed) => changed.event_id.iter_mut().for_each(shift),
        Written::NameTaken
        | Written::Purged { .. }
        | Written::Indexed(_)
        | Written::Stale(_)
        | Written::Missing => {}
    }
}

/// An audit entry in the batch's transaction.
async fn audit(
    batch: &mut Batch<'_>,
    actor: UserId,
    action: &str,
    conversation: i64,
    message: Option<i64>,
    subject: Option<UserId>,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, action, conversation_id, message_id, subject_id, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(actor.0)
    .bind(action)
    .bind(conversation)
    .bind(message)
    .bind(subject.map(|s| s.0))
    .bind(now_ms)
    .execute(&mut *batch.conn)
    .await?;
    Ok(())
}
