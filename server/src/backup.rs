//! `parley backup` and `parley restore`, and the lock that keeps one server per data
//! folder.
//!
//! A backup is a folder holding `parley.db` and `attachments/`. The database is copied
//! with SQLite's `VACUUM INTO`, which reads one consistent snapshot inside a read
//! transaction: the server keeps serving and writing meanwhile (WAL mode), and the copy
//! is whole and compact. Attachments are files named by their SHA-256, never changed in
//! place, so they are copied after the snapshot (every file it names was written before
//! its row was) and only those the backup does not have yet.
//!
//! A restore needs the server stopped: `parley serve` holds `parley.lock` in the data
//! folder for as long as it runs, and a restore takes the same lock first. The database
//! being replaced is moved aside (`before-restore-{time}/`), never deleted.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub const DATABASE: &str = "parley.db";
pub const ATTACHMENTS: &str = "attachments";
const LOCK: &str = "parley.lock";

/// The data folder held by one process: released when dropped (or when it exits).
pub struct DataLock(#[allow(dead_code)] File);

/// Takes the data folder's lock, or says who holds it.
pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<DataLock> {
    fs::create_dir_all(data_dir)?;
    let path = data_dir.join(LOCK);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("could not open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataLock(file)),
        Err(fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by a running Parley server (it holds {LOCK}); stop it first",
            data_dir.display()
        ),
        Err(fs::TryLockError::Error(e)) => Err(e).context("could not lock the data folder"),
    }
}

/// What a backup or restore copied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub database_bytes: u64,
    pub attachments: usize,
}

/// Copies the database and attachments of `data_dir` into the folder `to` (made if
/// missing; it must not already hold a database). Safe while a server runs.
pub fn backup(data_dir: &Path, to: &Path) -> anyhow::Result<Copied> {
    let source = data_dir.join(DATABASE);
    if !source.is_file() {
        bail!(
            "no database at {} (on PostgreSQL, back up with pg_dump)",
            source.display()
        );
    }
    fs::create_dir_all(to).with_context(|| format!("could not make {}", to.display()))?;
    let target = to.join(DATABASE);
    if target.exists() {
        bail!(
            "{} exists already: back up into a new folder",
            target.display()
        );
    }
    let partial = to.join(format!(".{DATABASE}.partial"));
    let _ = fs::remove_file(&partial);
    {
        let conn = rusqlite::Connection::open_with_flags(
            &source,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // The copy is made at today's page size, so a restore moves an older database to it.
        conn.pragma_update(None, "page_size", crate::store::sqlite::PAGE_SIZE)?;
        conn.execute("VACUUM INTO ?1", [partial.to_string_lossy()])
            .context("could not copy the database")?;
    }
    check(&partial)?;
    File::open(&partial)?.sync_all()?;
    fs::rename(&partial, &target)?;
    let attachments = copy_missing(&data_dir.join(ATTACHMENTS), &to.join(ATTACHMENTS))?;
    Ok(Copied {
        database_bytes: fs::metadata(&target)?.len(),
        attachments,
    })
}

/// Puts the backup in `from` in place as `data_dir`'s database and attachments. Refused
/// while a server holds the folder; the database it replaces is moved aside.
pub fn restore(data_dir: &Path, from: &Path) -> anyhow::Result<Copied> {
    let backup = from.join(DATABASE);
    if !backup.is_file() {
        bail!("no backup database at {}", backup.display());
    }
    check(&backup)?;
    let _lock = lock_data_dir(data_dir)?;
    let current = data_dir.join(DATABASE);
    if current.exists() {
        let aside = data_dir.join(format!(
            "before-restore-{}",
            time::OffsetDateTime::now_utc().unix_timestamp()
        ));
        fs::create_dir_all(&aside)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = data_dir.join(format!("{DATABASE}{suffix}"));
            if file.exists() {
                fs::rename(&file, aside.join(format!("{DATABASE}{suffix}")))?;
            }
        }
    }
    let partial = data_dir.join(format!(".{DATABASE}.partial"));
    fs::copy(&backup, &partial)?;
    File::open(&partial)?.sync_all()?;
    fs::rename(&partial, &current)?;
    let attachments = copy_missing(&from.join(ATTACHMENTS), &data_dir.join(ATTACHMENTS))?;
    Ok(Copied {
        database_bytes: fs::metadata(&current)?.len(),
        attachments,
    })
}

/// Refuses a database file SQLite does not find whole.
fn check(path: &Path) -> anyhow::Result<()> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        bail!("{} is damaged: {verdict}", path.display());
    }
    Ok(())
}

/// Copies the files under `from` that `to` lacks (content-addressed: a file present under
/// its name is the same file). Temporary files (`.name`) are skipped.
fn copy_missing(from: &Path, to: &Path) -> io::Result<usize> {
    let mut copied = 0;
    let mut folders: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(relative) = folders.pop() {
        let entries = match fs::read_dir(from.join(&relative)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let relative = relative.join(&name);
            if entry.file_type()?.is_dir() {
                folders.push(relative);
                continue;
            }
            let target = to.join(&relative);
            if target.exists() {
                continue;
            }
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            let partial = target.with_file_name(format!(".{}.partial", name.to_string_lossy()));
            fs::copy(entry.path(), &partial)?;
            File::open(&partial)?.sync_all()?;
            fs::rename(&partial, &target)?;
            copied += 1;
        }
    }
    Ok(copied)
}
