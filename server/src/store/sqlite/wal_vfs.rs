//! The writer's WAL reaches the kernel in one write per commit (issue 11: at most two
//! write calls per message). SQLite writes each WAL frame with two calls, its 24-byte
//! header and then its page, so a commit of N pages made 2N `pwrite`s. This VFS is
//! SQLite's own unix VFS with one change: the writes to a WAL file are gathered in
//! memory while they run on from each other and handed to the unix VFS as one write
//! when the commit's last frame is in (its header carries the database size, which only
//! a commit frame does), and before anything else touches the file: a read, a sync, a
//! truncate, a size query, a write elsewhere, a close. Whatever the `synchronous`
//! setting, a commit is in the file before SQLite publishes it to readers (it updates
//! the WAL index after writing the frames), and with `FULL` before the `fsync` that the
//! ack waits for, so nothing about durability or what readers see changes. Every other
//! file (the database, its shared-memory index, journals) is the unix VFS's own file,
//! opened in place.
//!
//! Only the writer thread's connection opens the database through it ([`VFS_NAME`]);
//! the readers use the default VFS. Both are the same unix code with the same locks.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name to open a connection with (`Connection::open_with_flags_and_vfs`).
pub const VFS_NAME: &CStr = c"parley-wal";

/// Gathered bytes are written out at this size even before the commit's end (a batch of
/// a thousand messages is a few MiB).
const FLUSH_AT: usize = 4 << 20;

/// The size of a WAL frame's header; the commit frame's header has the database size in
/// pages at bytes 4..8, every other frame's has zero there.
const FRAME_HEADER: usize = 24;

/// A WAL file: SQLite's handle, what is gathered, then the unix VFS's own file.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    /// Bytes not yet written, which belong at `pending_at` in the file.
    pending: Vec<u8>,
    pending_at: i64,
    /// The last write was a commit frame's header: the next one, its page, ends the
    /// commit.
    commit_page_next: bool,
}

/// Where the unix VFS's file starts inside ours.
const INNER_OFFSET: usize = std::mem::size_of::<WalFile>().next_multiple_of(16);

/// The unix VFS this one wraps.
fn unix() -> *mut ffi::sqlite3_vfs {
    static UNIX: OnceLock<usize> = OnceLock::new();
    *UNIX.get_or_init(|| unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) } as usize)
        as *mut ffi::sqlite3_vfs
}

/// Registers the VFS (once; later calls do nothing).
pub fn register() -> rusqlite::Result<()> {
    static REGISTERED: OnceLock<c_int> = OnceLock::new();
    let rc = *REGISTERED.get_or_init(|| unsafe {
        let unix = unix();
        if unix.is_null() {
            return ffi::SQLITE_ERROR;
        }
        let mut vfs = *unix;
        vfs.szOsFile = (INNER_OFFSET + (*unix).szOsFile as usize) as c_int;
        vfs.zName = VFS_NAME.as_ptr();
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(open);
        // SQLite keeps the pointer for the life of the process.
        ffi::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 0)
    });
    match rc {
        ffi::SQLITE_OK => Ok(()),
        rc => Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(rc),
            Some("registering the WAL VFS".into()),
        )),
    }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    unsafe {
        let unix = unix();
        let open = (*unix).xOpen.expect("the unix VFS opens files");
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            // Not a WAL: the unix VFS's own file, in the room SQLite made for ours.
            return open(unix, name, file, flags, out_flags);
        }
        let rc = open(unix, name, inner(file), flags, out_flags);
        if rc != ffi::SQLITE_OK {
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        std::ptr::write(
            file.cast::<WalFile>(),
            WalFile {
                base: ffi::sqlite3_file { pMethods: &METHODS },
                pending: Vec::new(),
                pending_at: 0,
                commit_page_next: false,
            },
        );
        rc
    }
}

unsafe fn inner(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    unsafe { file.cast::<u8>().add(INNER_OFFSET).cast() }
}

unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    unsafe { &mut *file.cast::<WalFile>() }
}

/// The unix VFS's methods for the file inside `file`.
unsafe fn methods<'a>(file: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    unsafe { &*(*inner(file)).pMethods }
}

/// The most the unix VFS writes in one call (`seekAndWriteFd` masks a write's size with
/// `0x1ffff`: a bigger one would be cut short, and one of exactly 128 KiB not written).
const MAX_WRITE: usize = 0x1ffff;

/// Writes out what is gathered: one call, or one per 128 KiB.
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let w = wal(file);
        let write = methods(file).xWrite.expect("files are written");
        let mut rc = ffi::SQLITE_OK;
        let mut at = w.pending_at;
        for chunk in w.pending.chunks(MAX_WRITE) {
            rc = write(inner(file), chunk.as_ptr().cast(), chunk.len() as c_int, at);
            if rc != ffi::SQLITE_OK {
                break;
            }
            at += chunk.len() as i64;
        }
        w.pending.clear();
        rc
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe {
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), amount as usize);
        let w = wal(file);
        if !w.pending.is_empty() && offset != w.pending_at + w.pending.len() as i64 {
            let rc = flush(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let w = wal(file);
        if w.pending.is_empty() {
            w.pending_at = offset;
        }
        w.pending.extend_from_slice(bytes);
        let ends_commit = w.commit_page_next;
        w.commit_page_next = bytes.len() == FRAME_HEADER && bytes[4..8] != [0; 4];
        if ends_commit || w.pending.len() >= FLUSH_AT {
            return flush(file);
        }
        ffi::SQLITE_OK
    }
}

/// `$name` flushes, then lets the unix VFS do the rest.
macro_rules! flushed_then {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            unsafe {
                let rc = flush(file);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                (methods(file).$method.expect(stringify!($method)))(inner(file) $(, $arg)*)
            }
        }
    };
}

/// `$name` is the unix VFS's.
macro_rules! passed_on {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> $ret {
            unsafe { (methods(file).$method.expect(stringify!($method)))(inner(file) $(, $arg)*) }
        }
    };
}

flushed_then!(read, xRead, (buffer: *mut c_void, amount: c_int, offset: i64));
flushed_then!(truncate, xTruncate, (size: i64));
flushed_then!(sync, xSync, (flags: c_int));
flushed_then!(file_size, xFileSize, (size: *mut i64));
passed_on!(lock, xLock, (level: c_int) -> c_int);
passed_on!(unlock, xUnlock, (level: c_int) -> c_int);
passed_on!(check_reserved_lock, xCheckReservedLock, (out: *mut c_int) -> c_int);
passed_on!(file_control, xFileControl, (op: c_int, arg: *mut c_void) -> c_int);
passed_on!(sector_size, xSectorSize, () -> c_int);
passed_on!(device_characteristics, xDeviceCharacteristics, () -> c_int);

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let flushed = flush(file);
        let closed = (methods(file).xClose.expect("files are closed"))(inner(file));
        std::ptr::drop_in_place(file.cast::<WalFile>());
        if flushed != ffi::SQLITE_OK {
            flushed
        } else {
            closed
        }
    }
}

/// A WAL file is never mapped or given shared memory (those are the database file's),
/// so version 1 of the methods is all it needs.
static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    fn writer(path: &std::path::Path) -> Connection {
        register().unwrap();
        let conn = Connection::open_with_flags_and_vfs(
            path,
            OpenFlags::default(),
            VFS_NAME.to_str().unwrap(),
        )
        .unwrap();
        for (name, value) in super::super::CONNECTION_PRAGMAS {
            conn.pragma_update(None, name, value).unwrap();
        }
        conn
    }

    /// Commits through the VFS are seen by a reader on the default VFS at once, survive
    /// checkpoints, big transactions and rewritten pages, and leave a sound database.
    #[test]
    fn commits_are_seen_at_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let w = writer(&path);
        w.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             PRAGMA wal_autocheckpoint = 50;",
        )
        .unwrap();
        let r = Connection::open(&path).unwrap();
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
                .unwrap()
        };
        let mut expected = 0;
        for round in 0..300 {
            let rows = if round % 50 == 0 {
                2_000
            } else {
                1 + round % 7
            };
            let tx = w.unchecked_transaction().unwrap();
            for n in 0..rows {
                tx.execute(
                    "INSERT INTO t (body) VALUES (?1)",
                    [format!("round {round} row {n} {}", "x".repeat(n % 300))],
                )
                .unwrap();
            }
            // A page written twice in one transaction (SQLite rewrites its frame).
            tx.execute("UPDATE t SET body = body || '!' WHERE id = 1", [])
                .unwrap();
            tx.commit().unwrap();
            expected += rows as i64;
            assert_eq!(count(&r), expected, "round {round}");
        }
        drop(r);
        drop(w);
        let again = Connection::open(&path).unwrap();
        assert_eq!(count(&again), expected);
        let check: String = again
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    /// A commit is in the WAL file as soon as it returns, before any close or checkpoint,
    /// even with no `fsync` to flush it (`synchronous = OFF`): a copy of the files taken
    /// then (as a crash of the process would leave them) opens with it.
    #[test]
    fn a_commit_is_in_the_file_when_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let w = writer(&path);
        w.execute_batch(
            "PRAGMA synchronous = OFF;
             PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             INSERT INTO t (body) VALUES ('kept');",
        )
        .unwrap();
        let copy = dir.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        for suffix in ["", "-wal"] {
            std::fs::copy(
                dir.path().join(format!("wal.db{suffix}")),
                copy.join(format!("wal.db{suffix}")),
            )
            .unwrap();
        }
        let crashed = Connection::open(copy.join("wal.db")).unwrap();
        let body: String = crashed
            .query_row("SELECT body FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(body, "kept");
        drop(w);
    }
}
