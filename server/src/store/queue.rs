//! The queue in front of each engine's writer: writes wait in submission order, the
//! writer takes them in batches, commits each batch once, and then answers them and
//! runs their [`AfterCommit`] in that same order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, mpsc, oneshot};

use super::{AfterCommit, PendingWrite, StoreError, StoreResult, Write, Written};

/// One queued write.
pub(crate) struct Job {
    pub write: Write,
    pub after_commit: AfterCommit,
    pub reply: oneshot::Sender<StoreResult<Written>>,
    /// Counts the job as in flight until it is answered (or dropped).
    ticket: Ticket,
}

/// How many jobs were submitted and not yet answered, and a way to wait for none.
#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    none: Notify,
}

struct Ticket(Arc<InFlight>);

impl Ticket {
    fn new(in_flight: &Arc<InFlight>) -> Self {
        in_flight.count.fetch_add(1, Ordering::SeqCst);
        Self(in_flight.clone())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.none.notify_waiters();
        }
    }
}

/// The submitting end; cloning it is cheap.
#[derive(Clone)]
pub(crate) struct WriteQueue {
    jobs: mpsc::Sender<Job>,
    in_flight: Arc<InFlight>,
}

impl WriteQueue {
    /// A queue holding up to `capacity` writes (submitters wait beyond that), and the
    /// writer's end of it.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Job>) {
        let (jobs, rx) = mpsc::channel(capacity);
        (
            Self {
                jobs,
                in_flight: Arc::default(),
            },
            rx,
        )
    }

    /// Resolves once every write submitted so far has been committed (or has failed) and
    /// answered, its [`AfterCommit`] run: what a shutdown waits for before closing the
    /// database. Writes submitted meanwhile are waited for too.
    pub async fn settled(&self) {
        loop {
            let none = self.in_flight.none.notified();
            tokio::pin!(none);
            none.as_mut().enable();
            if self.in_flight.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            none.await;
        }
    }

    /// Writes submitted and not yet taken by the writer.
    pub fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// Queues a write (waiting only for room in the queue); the returned future resolves
    /// when it is committed.
    pub async fn submit(
        &self,
        write: Write,
        after_commit: AfterCommit,
    ) -> StoreResult<PendingWrite> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                write,
                after_commit,
                reply,
                ticket: Ticket::new(&self.in_flight),
            })
            .await
            .map_err(|_| StoreError::Corrupt("the writer has stopped".into()))?;
        Ok(Box::pin(async move {
            answer
                .await
                .map_err(|_| StoreError::Corrupt("the writer dropped a write".into()))?
        }))
    }
}

/// After a commit (or a failure): answers each job of `batch` with its result and runs
/// its [`AfterCommit`], in order. The caller hears first, so the sender's connection can
/// ack before the fan-out reaches it; the fan-out still runs here, in commit order. Then
/// `then` runs, and only after it do the jobs stop counting as in flight
/// ([`WriteQueue::settled`]).
pub(crate) fn answer(
    batch: &mut Vec<Job>,
    results: Vec<StoreResult<Written>>,
    then: impl FnOnce(),
) {
    let mut tickets = Vec::with_capacity(batch.len());
    for (job, result) in batch.drain(..).zip(results) {
        let written = result.as_ref().ok().cloned();
        let _ = job.reply.send(result);
        if let Some(written) = written {
            (job.after_commit)(&written);
        }
        tickets.push(job.ticket);
    }
    then();
    drop(tickets);
}
