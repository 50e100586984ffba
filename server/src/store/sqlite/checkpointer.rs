//! Checkpoints off the writer's thread (issue 11: low latency at full load). SQLite's
//! automatic checkpoint runs inside the commit that crosses its threshold: that commit,
//! and every send waiting on it, paid for copying some thousand pages into the database
//! file and an `fsync` of it. The writer's connection now only notes how long the WAL
//! has grown after each commit (a WAL hook, which replaces the automatic checkpoint) and
//! wakes a thread of its own, which checkpoints through its own connection while the
//! writer goes on committing (`PASSIVE`: it copies what was committed when it started
//! and never blocks a writer or a reader).
//!
//! SQLite starts the WAL over at the first write after a checkpoint that copied all of
//! it, and under load the writer has always committed more by the time the thread is
//! done. So the thread copies the bulk (and goes again while more than
//! [`WRITER_FINISHES_EIGHTHS`] of the size at which it began is left), then the writer copies the little rest in its own
//! commit, and its next write starts the WAL over. At [`WRITER_CHECKPOINTS_AT_TIMES`] that
//! size (the thread has fallen behind) the writer checkpoints whatever is left, as SQLite did.

use std::ffi::{c_char, c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ffi};

use crate::store::{StoreError, StoreResult};

/// The WAL's size in MiB at which a checkpoint begins unless configured
/// (`PARLEY_WAL_CHECKPOINT_MIB`).
pub const DEFAULT_CHECKPOINT_MIB: u64 = 16;

/// Of the WAL's size at which a checkpoint begins (`PARLEY_WAL_CHECKPOINT_MIB`), what
/// the writer copies itself once the thread has copied the rest.
pub const WRITER_FINISHES_EIGHTHS: u64 = 1;

/// The WAL's size, in times the size at which a checkpoint begins, at which the writer
/// checkpoints in its own commit whatever is left.
pub const WRITER_CHECKPOINTS_AT_TIMES: u64 = 8;

/// What the writer's WAL hook and the checkpointer's thread share; sizes in frames (pages
/// of this database).
struct Shared {
    begin_at: c_int,
    finish_at: c_int,
    writer_at: c_int,
    state: Mutex<State>,
    changed: Condvar,
    by_checkpointer: AtomicU64,
    by_writer: AtomicU64,
}

#[derive(Default)]
struct State {
    /// The WAL's frames known copied into the database (a number above the WAL's length
    /// means the WAL started over since).
    copied: c_int,
    wanted: bool,
    running: bool,
    stop: bool,
}

/// The hook installed on the writer's connection and the thread it wakes. [`stop`] it
/// before the connection closes.
///
/// [`stop`]: Checkpointer::stop
pub struct Checkpointer {
    shared: *const Shared,
    thread: Option<std::thread::JoinHandle<()>>,
}

// The raw pointer is an `Arc` the hook borrows; it is only dereferenced through `&`.
unsafe impl Send for Checkpointer {}

impl Checkpointer {
    /// Starts the checkpointer's thread with its own connection to `path` and installs
    /// the hook on `writer` (which then no longer checkpoints by itself).
    /// A checkpoint begins when the WAL holds `begin_at_bytes`.
    pub fn start(
        writer: &Connection,
        path: &Path,
        busy_timeout: Duration,
        begin_at_bytes: u64,
    ) -> StoreResult<Self> {
        let page_size: u64 = writer.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let frames = |bytes: u64| c_int::try_from(bytes / page_size.max(512)).unwrap_or(c_int::MAX);
        let shared = Arc::new(Shared {
            begin_at: frames(begin_at_bytes),
            finish_at: frames(begin_at_bytes * WRITER_FINISHES_EIGHTHS / 8),
            writer_at: frames(begin_at_bytes * WRITER_CHECKPOINTS_AT_TIMES),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            by_checkpointer: AtomicU64::new(0),
            by_writer: AtomicU64::new(0),
        });
        let conn = Connection::open(path)?;
        conn.busy_timeout(busy_timeout)?;
        for (name, value) in super::CONNECTION_PRAGMAS {
            conn.pragma_update(None, name, value)?;
        }
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("parley-checkpoint".into())
                .spawn(move || checkpoint_when_woken(&conn, &shared))
                .map_err(|e| {
                    StoreError::Corrupt(format!("could not start the checkpointer: {e}"))
                })?
        };
        let shared = Arc::into_raw(shared);
        // SAFETY: `shared` lives until `stop` removes the hook and takes it back.
        unsafe {
            ffi::sqlite3_wal_hook(writer.handle(), Some(wal_committed), shared as *mut c_void);
        }
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Removes the hook from `writer` and ends the thread (after the checkpoint under
    /// way, if any). Returns how many checkpoints the thread and the writer made.
    pub fn stop(mut self, writer: &Connection) -> (u64, u64) {
        // SAFETY: the hook is gone before its argument is released below.
        let shared = unsafe {
            ffi::sqlite3_wal_hook(writer.handle(), None, std::ptr::null_mut());
            Arc::from_raw(self.shared)
        };
        shared.state.lock().expect("not poisoned").stop = true;
        shared.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        (
            shared.by_checkpointer.load(Ordering::Relaxed),
            shared.by_writer.load(Ordering::Relaxed),
        )
    }
}

/// SQLite calls this on the writer's thread after each commit, with the WAL's length in
/// frames (copied or not).
unsafe extern "C" fn wal_committed(
    arg: *mut c_void,
    db: *mut ffi::sqlite3,
    name: *const c_char,
    frames: c_int,
) -> c_int {
    // SAFETY: `arg` is the `Shared` that `Checkpointer::start` installed, alive until the
    // hook is removed.
    let shared = unsafe { &*(arg as *const Shared) };
    let finish = {
        let mut state = shared.state.lock().expect("not poisoned");
        if frames < state.copied {
            state.copied = 0;
        }
        let left = frames - state.copied;
        let finish = frames >= shared.writer_at
            || (frames >= shared.begin_at && left <= shared.finish_at && !state.running);
        if !finish && frames >= shared.begin_at && !state.running && !state.wanted {
            state.wanted = true;
            shared.changed.notify_one();
        }
        finish
    };
    if finish {
        let (mut log, mut copied) = (0, 0);
        // SAFETY: `db` and `name` are SQLite's own, on the thread that committed; a
        // checkpoint from the WAL hook is what SQLite's automatic checkpoint does.
        let rc = unsafe {
            ffi::sqlite3_wal_checkpoint_v2(
                db,
                name,
                ffi::SQLITE_CHECKPOINT_PASSIVE,
                &mut log,
                &mut copied,
            )
        };
        // Busy while the thread checkpoints: the next commit tries again.
        if rc == ffi::SQLITE_OK {
            shared.by_writer.fetch_add(1, Ordering::Relaxed);
            shared.state.lock().expect("not poisoned").copied = copied;
        }
    }
    ffi::SQLITE_OK
}

fn checkpoint_when_woken(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut state = shared.state.lock().expect("not poisoned");
            while !state.wanted && !state.stop {
                state = shared.changed.wait(state).expect("not poisoned");
            }
            if state.stop {
                return;
            }
            state.wanted = false;
            state.running = true;
        }
        // (busy, frames in the WAL, frames copied); busy when another connection was
        // checkpointing: a later commit wakes the thread again.
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, c_int>(2)?))
        });
        let mut state = shared.state.lock().expect("not poisoned");
        state.running = false;
        match done {
            Ok((0, copied)) => {
                shared.by_checkpointer.fetch_add(1, Ordering::Relaxed);
                state.copied = copied;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN_AT: u64 = 4 << 20;

    /// Under a writer that never pauses, the WAL is checkpointed by the thread and stays
    /// bounded (it starts over), and every row is in the database afterwards.
    #[test]
    fn the_wal_stays_bounded_under_a_writer_that_never_pauses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("parley.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(&format!(
                "PRAGMA page_size = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
                 CREATE TABLE rows (body BLOB NOT NULL);",
                super::super::PAGE_SIZE
            ))
            .unwrap();
        let checkpointer =
            Checkpointer::start(&writer, &path, Duration::from_secs(5), BEGIN_AT).unwrap();
        // 4,000 commits of 10 rows of 2,000 bytes: 80 MB through a WAL checkpointed at 4 MiB.
        let body = vec![7u8; 2_000];
        let mut insert = writer
            .prepare("INSERT INTO rows (body) VALUES (?)")
            .unwrap();
        for _ in 0..4_000 {
            writer.execute_batch("BEGIN IMMEDIATE").unwrap();
            for _ in 0..10 {
                insert.execute([&body]).unwrap();
            }
            writer.execute_batch("COMMIT").unwrap();
        }
        drop(insert);
        let (by_thread, by_writer) = checkpointer.stop(&writer);
        assert!(by_thread > 0, "the thread checkpointed");
        let wal = std::fs::metadata(dir.path().join("parley.db-wal"))
            .unwrap()
            .len();
        // The WAL file keeps its largest size. The writer's own checkpoint is refused
        // while the thread's is under way, so the WAL may pass the mark by what the
        // writer commits meanwhile.
        eprintln!(
            "WAL file {wal} bytes; checkpoints: {by_thread} by the thread, {by_writer} by the writer"
        );
        assert!(by_writer > 0, "the writer finishes");
        assert!(
            wal <= BEGIN_AT * WRITER_CHECKPOINTS_AT_TIMES * 3 / 2,
            "WAL of {wal} bytes"
        );
        let reader = Connection::open(&path).unwrap();
        let rows: i64 = reader
            .query_row("SELECT COUNT(*) FROM rows", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 40_000);
        let verdict: String = reader
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(verdict, "ok");
    }
}
