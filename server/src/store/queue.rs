//! The queue in front of each engine's writer: writes wait in submission order, the
//! writer takes them in batches, commits each batch once, and then answers them and
//! runs their [`AfterCommit`] in that same order.

use tokio::sync::{mpsc, oneshot};

use super::{AfterCommit, PendingWrite, StoreError, StoreResult, Write, Written};

/// One queued write.
pub(crate) struct Job {
    pub write: Write,
    pub after_commit: AfterCommit,
    pub reply: oneshot::Sender<StoreResult<Written>>,
}

/// The submitting end; cloning it is cheap.
#[derive(Clone)]
pub(crate) struct WriteQueue {
    jobs: mpsc::Sender<Job>,
}

impl WriteQueue {
    /// A queue holding up to `capacity` writes (submitters wait beyond that), and the
    /// writer's end of it.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Job>) {
        let (jobs, rx) = mpsc::channel(capacity);
        (Self { jobs }, rx)
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
/// ack before the fan-out reaches it; the fan-out still runs here, in commit order.
pub(crate) fn answer(batch: &mut Vec<Job>, results: Vec<StoreResult<Written>>) {
    for (job, result) in batch.drain(..).zip(results) {
        let written = result.as_ref().ok().cloned();
        let _ = job.reply.send(result);
        if let Some(written) = written {
            (job.after_commit)(&written);
        }
    }
}
