//! The [`Store`](super::Store) on an SQLite file in WAL mode, one file per section of the
//! storage interface: [`accounts`], [`conversations`], [`messages`], [`events`],
//! [`orders`] (with the settings), [`audit`]. Reads use a pool of read-only connections. Every
//! change that writes an event goes through the [`writer`] thread, which owns its own
//! connection and commits writes in groups, in order; the few writes without an event
//! (accounts, sessions, settings, seeding) use a pool of one sqlx connection. SQLite
//! thus sees two writers, which `BEGIN IMMEDIATE` and the busy timeout keep apart.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions};

use super::{AfterCommit, PendingWrite, StoreResult, Write, Writes};

mod accounts;
mod api_tokens;
mod attachments;
mod audit;
pub mod checkpointer;
mod conversations;
mod events;
mod messages;
mod notifications;
mod orders;
mod wal_vfs;
mod writer;
pub use writer::Indexing;

/// The migrations for this engine, embedded in the binary and applied at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// The most writes committed together unless `PARLEY_WRITE_BATCH` says otherwise: with
/// 512 sends in flight, two commits per round became one (BENCHMARKS.md, issue 11).
pub const DEFAULT_WRITE_BATCH: usize = 1_024;

/// How the SQLite file is opened.
#[derive(Clone, Debug)]
pub struct SqliteSettings {
    /// Connections in the read pool.
    pub read_connections: u32,
    /// How long a statement waits for a lock before failing.
    pub busy_timeout: Duration,
    /// Most writes committed together (group commit).
    pub max_batch: usize,
    /// When the writer fills the full-text index by itself (a search asks it to first).
    pub indexing: Indexing,
    /// The WAL's size at which it is checkpointed (checkpointer.rs).
    pub checkpoint_at_bytes: u64,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        Self {
            read_connections: 8,
            busy_timeout: Duration::from_secs(5),
            max_batch: DEFAULT_WRITE_BATCH,
            indexing: Indexing::default(),
            checkpoint_at_bytes: checkpointer::DEFAULT_CHECKPOINT_MIB << 20,
        }
    }
}

pub struct SqliteStore {
    /// Writes without an event: accounts, sessions, settings, seeding.
    writer: SqlitePool,
    reader: SqlitePool,
    /// Every write with an event, in commit order.
    ordered: writer::Writer,
}

/// How every connection to the database file is set up, through sqlx or the writer's
/// own rusqlite connection.
pub(crate) const CONNECTION_PRAGMAS: [(&str, &str); 3] = [
    ("journal_mode", "WAL"),
    // FULL: an acked message survives a power cut, not only a crash.
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
];

/// The page size of a database Parley creates (and of a backup it takes). An append dirties
/// the last leaf of its conversation's `(conversation_id, seq)` index, one per conversation
/// in a batch, and the WAL gets each dirty page whole: at 64 senders in 64 rooms those
/// leaves were 68 of the 93 pages a commit wrote. Half-size pages halve what they cost
/// (durable sends at 64 × 2: 4.1 → 2.7 KiB written per message, BENCHMARKS.md); 1 KiB
/// pages cost more CPU than they saved. SQLite fixes the size when it creates the file:
/// an older database keeps its own until a backup (`VACUUM INTO`) is restored.
pub const PAGE_SIZE: u32 = 2_048;

/// The messages that count as unread for user `?1` in conversation `c`, after read
/// position `r` (SQL over `messages m`): by others, after it, not deleted.
pub(crate) const UNREAD_MESSAGES: &str =
    "m.sender_id <> ?1 AND m.deleted_at_ms IS NULL AND m.seq > COALESCE(r.last_read_seq, 0)";

/// Of [`UNREAD_MESSAGES`], the ones that mention user `?1` (or everyone).
pub(crate) const MENTIONING: &str = "(m.mentions_everyone = 1 OR EXISTS (SELECT 1 FROM mentions x \
     WHERE x.user_id = ?1 AND x.message_id = m.id))";

/// Applies the pending migrations on a connection of their own with foreign keys off, the
/// way SQLite changes a table's constraints (lang_altertable.html, "making other kinds of
/// table schema changes"): a migration that rebuilds a table drops the old one without
/// cascading into the tables that refer to it, which then refer to the rebuilt one by
/// name. Every reference is checked afterwards; a migration that broke one stops the start.
async fn migrate(options: &SqliteConnectOptions) -> StoreResult<()> {
    // A pool of one, not a bare connection: `Migrator::run` on `&mut SqliteConnection`
    // makes a future the server's start cannot hand to `tokio::spawn`.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone().foreign_keys(false))
        .await?;
    const APPLIED: &str = "SELECT COUNT(*) FROM _sqlx_migrations";
    let before: i64 = sqlx::query_scalar(APPLIED)
        .fetch_one(&pool)
        .await
        .unwrap_or(0);
    MIGRATOR.run(&pool).await?;
    // The check reads every table, so only after a change.
    let after: i64 = sqlx::query_scalar(APPLIED).fetch_one(&pool).await?;
    if after != before {
        check_references(&mut *pool.acquire().await?).await?;
    }
    pool.close().await;
    Ok(())
}

/// `PRAGMA foreign_key_check`: every reference points at a row that exists.
async fn check_references(conn: &mut SqliteConnection) -> StoreResult<()> {
    let broken: Vec<(String, Option<i64>, String)> =
        sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
            .fetch_all(&mut *conn)
            .await?;
    match broken.first() {
        None => Ok(()),
        Some((table, row, parent)) => Err(super::StoreError::Corrupt(format!(
            "{} rows refer to missing rows, the first {table} {row:?} to {parent}",
            broken.len()
        ))),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path, settings: &SqliteSettings) -> StoreResult<Self> {
        let options = CONNECTION_PRAGMAS.into_iter().fold(
            SqliteConnectOptions::from_str("sqlite://")?
                .filename(path)
                .create_if_missing(true)
                // Before journal_mode (sqlx sends it first): it only counts for a new file.
                .page_size(PAGE_SIZE)
                // The checkpointer's thread keeps the WAL short (checkpointer.rs); these
                // connections' own commits (sessions, accounts) checkpoint only past the
                // size at which the writer would, so they never copy the WAL in a request
                // while the writer is busy, and still bound it if only they write.
                .pragma(
                    "wal_autocheckpoint",
                    (settings.checkpoint_at_bytes * checkpointer::WRITER_CHECKPOINTS_AT_TIMES
                        / u64::from(PAGE_SIZE))
                    .to_string(),
                )
                .busy_timeout(settings.busy_timeout),
            |options, (name, value)| options.pragma(name, value),
        );
        migrate(&options).await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(settings.read_connections.max(1))
            .connect_with(options.read_only(true))
            .await?;
        let ordered = writer::Writer::start(path, settings)?;
        Ok(Self {
            writer,
            reader,
            ordered,
        })
    }

    /// Waits for the writes already submitted to commit, then closes the pools.
    pub async fn close(&self) {
        self.ordered.settled().await;
        self.reader.close().await;
        self.writer.close().await;
    }
}

#[async_trait::async_trait]
impl Writes for SqliteStore {
    async fn submit(&self, write: Write, after_commit: AfterCommit) -> StoreResult<PendingWrite> {
        self.ordered.submit(write, after_commit).await
    }

    fn queued_writes(&self) -> usize {
        self.ordered.queued()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{ConnectOptions, Row};

    /// WAL, fsync on every commit, foreign keys: on the sqlx connections (the writer
    /// thread's own connection is set up from the same list).
    #[tokio::test]
    async fn connections_are_durable_and_check_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("parley.db"), &SqliteSettings::default())
            .await
            .unwrap();
        let pragma = |name: &'static str| {
            let pool = store.writer.clone();
            async move {
                let row = sqlx::query(&format!("PRAGMA {name}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                row.try_get::<String, _>(0)
                    .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
                    .unwrap()
            }
        };
        assert_eq!(pragma("journal_mode").await, "wal");
        assert_eq!(pragma("synchronous").await, "2", "FULL");
        assert_eq!(pragma("foreign_keys").await, "1");
        assert_eq!(
            pragma("page_size").await,
            PAGE_SIZE.to_string(),
            "a new file"
        );
        assert_eq!(
            pragma("wal_autocheckpoint").await,
            (SqliteSettings::default().checkpoint_at_bytes
                * checkpointer::WRITER_CHECKPOINTS_AT_TIMES
                / u64::from(PAGE_SIZE))
            .to_string(),
            "past the writer's own mark"
        );
        store.close().await;
    }

    /// Every migration can be undone, down to an empty schema, and applied again.
    #[tokio::test]
    async fn migrations_are_reversible() {
        let dir = tempfile::tempdir().unwrap();
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(dir.path().join("parley.db"))
                    .create_if_missing(true)
                    .foreign_keys(false),
            )
            .await
            .unwrap();
        let tables = |pool: SqlitePool| async move {
            sqlx::query_scalar::<_, String>(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations' ORDER BY name",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
        };
        MIGRATOR.run(&pool).await.unwrap();
        let applied = tables(pool.clone()).await;
        assert!(applied.contains(&"messages".to_string()));
        MIGRATOR.undo(&pool, 0).await.unwrap();
        assert_eq!(tables(pool.clone()).await, Vec::<String>::new());
        MIGRATOR.run(&pool).await.unwrap();
        assert_eq!(tables(pool.clone()).await, applied);
        pool.close().await;
    }

    /// Every reference to a message has an index that starts with the referring column,
    /// so deleting messages (retention, a purge of thousands) looks the referring rows
    /// up instead of reading their whole tables once per message.
    #[tokio::test]
    async fn whatever_refers_to_a_message_is_found_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("parley.db"), &SqliteSettings::default())
            .await
            .unwrap();
        let references: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.name, f.\"from\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' AND f.\"table\" = 'messages'",
        )
        .fetch_all(&store.reader)
        .await
        .unwrap();
        assert!(references.len() >= 6, "{references:?}");
        for (table, column) in references {
            let leading: Vec<String> = sqlx::query_scalar(
                "SELECT i.name FROM pragma_index_list(?1) l, pragma_index_info(l.name) i \
                 WHERE i.seqno = 0",
            )
            .bind(&table)
            .fetch_all(&store.reader)
            .await
            .unwrap();
            assert!(
                leading.contains(&column),
                "{table}.{column} refers to messages without an index starting with it"
            );
        }
        store.close().await;
    }

    /// The columns of `messages`' unique index on client ids, in their order.
    async fn idempotency_index(conn: &mut SqliteConnection) -> String {
        sqlx::query_scalar::<_, String>(
            "SELECT group_concat(name, ',') FROM (SELECT i.name FROM pragma_index_list('messages') l \
             JOIN pragma_index_info(l.name) i WHERE l.\"unique\" = 1 AND l.name IN \
             (SELECT k.name FROM pragma_index_list('messages') k JOIN pragma_index_info(k.name) c \
              WHERE c.name = 'client_id') ORDER BY i.seqno)",
        )
        .fetch_one(conn)
        .await
        .unwrap()
    }

    /// Rebuilding `messages` (migration 22, its idempotency index keyed by client id
    /// first; 24, its body checked for visible text) keeps every message and everything
    /// that refers to one, both ways.
    #[tokio::test]
    async fn the_messages_rebuild_keeps_messages_and_what_refers_to_them() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("parley.db"))
            .create_if_missing(true);
        let store = SqliteStore::open(
            dir.path().join("parley.db").as_path(),
            &SqliteSettings::default(),
        )
        .await
        .unwrap();
        crate::demo::first_run(&store, true).await.unwrap();
        store.close().await;
        let mut conn = options.foreign_keys(false).connect().await.unwrap();
        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
        sqlx::query(
            "INSERT INTO reactions (message_id, user_id, emoji, created_at_ms) \
             SELECT id, sender_id, 'heart', 0 FROM messages",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
            .execute(&mut conn)
            .await
            .unwrap();
        let census = [
            "SELECT COUNT(*) FROM messages",
            "SELECT COUNT(*) FROM events WHERE message_id IS NOT NULL",
            "SELECT COUNT(*) FROM reactions",
            "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'order'",
        ];
        let mut before = Vec::new();
        for sql in census {
            before.push(count(sql).fetch_one(&mut conn).await.unwrap());
        }
        assert!(before.iter().all(|n| *n > 0), "{before:?}");
        assert_eq!(idempotency_index(&mut conn).await, "client_id,sender_id");
        for (target, order) in [(21, "sender_id,client_id"), (22, "client_id,sender_id")] {
            if target == 21 {
                MIGRATOR.undo(&mut conn, target).await.unwrap();
            } else {
                MIGRATOR.run(&mut conn).await.unwrap();
            }
            check_references(&mut conn).await.unwrap();
            assert_eq!(idempotency_index(&mut conn).await, order);
            let mut after = Vec::new();
            for sql in census {
                after.push(count(sql).fetch_one(&mut conn).await.unwrap());
            }
            assert_eq!(after, before, "after migrating to {target}");
        }
    }

    /// The database refuses a body with nothing visible in it, by the same definition as
    /// the server (`app::model::has_visible_text`), even written past the server.
    #[tokio::test]
    async fn a_body_of_invisible_characters_is_refused_by_the_database_itself() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("parley.db"), &SqliteSettings::default())
            .await
            .unwrap();
        crate::demo::first_run(&store, true).await.unwrap();
        let mut conn = store.writer.acquire().await.unwrap();
        let append = |body: &str| {
            sqlx::query(
                "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms) \
                 SELECT id, last_seq + 1, 1, lower(hex(randomblob(18))), ?1, 0 \
                 FROM conversations ORDER BY id LIMIT 1",
            )
            .bind(body.to_string())
        };
        for blank in [
            "\u{200B}\u{200B}",
            "\u{202E}\u{2800}\u{00AD}",
            "\t\u{3000} ",
            "\u{E0041}",
            "\0",
        ] {
            let refused = append(blank).execute(&mut *conn).await.unwrap_err();
            assert!(
                refused.to_string().contains("CHECK"),
                "{blank:?}: {refused}"
            );
        }
        for shown in ["\u{200B}hello", "Ж", "\u{E0041}🙂"] {
            append(shown).execute(&mut *conn).await.unwrap();
        }
        let edit = sqlx::query("UPDATE messages SET body = ?1 WHERE body = 'Ж'")
            .bind("\u{200B}")
            .execute(&mut *conn)
            .await
            .unwrap_err();
        assert!(edit.to_string().contains("CHECK"), "{edit}");
        let version = sqlx::query(
            "INSERT INTO message_versions (message_id, version, body, created_at_ms) \
             SELECT id, 1, ?1, 0 FROM messages WHERE body = 'Ж'",
        )
        .bind("\u{FEFF}")
        .execute(&mut *conn)
        .await
        .unwrap_err();
        assert!(version.to_string().contains("CHECK"), "{version}");
        drop(conn);
        store.close().await;
    }

    /// The SQL that finds what a user may see (the list, a search) agrees with
    /// `rules::can_see` for every demo user and every kind of conversation.
    #[tokio::test]
    async fn visibility_in_sql_is_the_rules() {
        use crate::store::prelude::*;
        use app::model::{Role, ThreadRef};
        use app::rules::{Actor, can_see};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("parley.db"), &SqliteSettings::default())
            .await
            .unwrap();
        crate::demo::first_run(&store, true).await.unwrap();
        let users = store.users().await.unwrap();
        let id = |name: &str| users.iter().find(|u| u.username == name).unwrap().id;
        let orgs = store.organisations().await.unwrap();
        let org = |name: &str| orgs.iter().find(|o| o.name == name).unwrap().id;
        let nothing = || -> crate::store::AfterCommit { Box::new(|_| {}) };
        let writes = [
            Write::CreateChannel {
                name: "staff-only".into(),
                organisations: vec![org("Axiom Fulfillment"), org("Oracare")],
                roles: vec![Role::Admin, Role::Member],
                actor: id("alice"),
                now_ms: 1,
            },
            Write::CreateChannel {
                name: "oracare-guests".into(),
                organisations: vec![org("Oracare")],
                roles: vec![Role::Guest],
                actor: id("alice"),
                now_ms: 1,
            },
            Write::OpenDirect {
                a: id("bob"),
                b: id("carol"),
                now_ms: 1,
            },
            Write::CreateGroup {
                slug: "group-x".into(),
                members: vec![id("alice"), id("bob"), id("dave")],
                name: None,
                now_ms: 1,
            },
            Write::OpenThread {
                reference: ThreadRef::Sku("X-1".into()),
                organisations: vec![org("Acme Manufacturing")],
                now_ms: 1,
            },
            Write::OpenThread {
                reference: ThreadRef::Order(1042),
                organisations: vec![org("Oracare")],
                now_ms: 1,
            },
        ];
        for write in writes {
            store.write(write, nothing()).await.unwrap();
        }
        let all: Vec<i64> = sqlx::query_scalar("SELECT id FROM conversations ORDER BY id")
            .fetch_all(&store.reader)
            .await
            .unwrap();
        for user in &users {
            let actor = Actor::from(user);
            let mut by_rules = Vec::new();
            for c in &all {
                let audience = store
                    .conversation_access(app::model::ConversationId(*c))
                    .await
                    .unwrap()
                    .unwrap();
                if can_see(&actor, &audience) {
                    by_rules.push(*c);
                }
            }
            let mut listed: Vec<i64> = store
                .visible_ids(&actor)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.0)
                .collect();
            listed.sort();
            assert_eq!(listed, by_rules, "{}: visible_ids", user.username);
            let tested: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT id FROM conversations WHERE {} ORDER BY id",
                crate::store::rows::visible_condition(&actor, "conversations.id")
            ))
            .fetch_all(&store.reader)
            .await
            .unwrap();
            assert_eq!(tested, by_rules, "{}: visible_condition", user.username);
        }
        store.close().await;
    }

    /// The index filled in batches agrees with the messages: edits and deletes before
    /// and after a message was indexed leave exactly the current texts findable.
    #[tokio::test]
    async fn batched_search_index_follows_edits_and_deletes() {
        use crate::store::prelude::*;
        use crate::store::{NewMessage, SearchFilter, Written};
        let dir = tempfile::tempdir().unwrap();
        // Only when asked, so the test decides what is indexed when.
        let settings = SqliteSettings {
            indexing: writer::Indexing {
                after_appends: usize::MAX,
                when_idle_every: Duration::MAX,
            },
            ..SqliteSettings::default()
        };
        let store = SqliteStore::open(&dir.path().join("parley.db"), &settings)
            .await
            .unwrap();
        crate::demo::first_run(&store, true).await.unwrap();
        let bob = store
            .users()
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.username == "bob")
            .unwrap();
        let internal = store
            .conversation_by_slug("internal", bob.id)
            .await
            .unwrap()
            .unwrap()
            .id;
        let nothing = || -> crate::store::AfterCommit { Box::new(|_| {}) };
        let append = |body: &str| {
            Write::Append(NewMessage {
                conversation_id: internal,
                sender_id: bob.id,
                sender_name: bob.display_name.clone(),
                client_id: uuid::Uuid::now_v7(),
                body: body.into(),
                created_at_ms: crate::clock::now_ms(),
                reply_to: None,
                attachments: vec![],
            })
        };
        let mut ids = Vec::new();
        for body in [
            "alpha before",
            "bravo before",
            "charlie after",
            "delta after",
        ] {
            let Written::Appended(a) = store.write(append(body), nothing()).await.unwrap() else {
                panic!("not appended");
            };
            ids.push(a.message.id);
        }
        let edit = |id, body: &str| Write::Edit {
            message: id,
            replaces: 1,
            body: body.into(),
            now_ms: crate::clock::now_ms(),
        };
        let delete = |id| Write::Delete {
            message: id,
            actor: bob.id,
            now_ms: crate::clock::now_ms(),
        };
        // Before the index holds them: edit the first, delete the second.
        store
            .write(edit(ids[0], "alpha edited"), nothing())
            .await
            .unwrap();
        store.write(delete(ids[1]), nothing()).await.unwrap();
        store.write(Write::IndexPending, nothing()).await.unwrap();
        // After: edit the third, delete the fourth.
        store
            .write(edit(ids[2], "charlie edited"), nothing())
            .await
            .unwrap();
        store.write(delete(ids[3]), nothing()).await.unwrap();
        let found = |word: &'static str| {
            let store = &store;
            async move {
                store
                    .search(&SearchFilter {
                        conversations: vec![internal],
                        terms: vec![app::search::Term::Word(word.into())],
                        limit: 10,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|(m, _)| m.body)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(found("alpha").await, ["alpha edited"]);
        assert_eq!(found("charlie").await, ["charlie edited"]);
        assert_eq!(found("edited").await.len(), 2);
        assert!(
            found("before").await.is_empty(),
            "no superseded or deleted text"
        );
        assert!(found("bravo").await.is_empty());
        assert!(found("after").await.is_empty());
        assert!(found("delta").await.is_empty());
        let integrity: Result<u64, _> = sqlx::query(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
        )
        .execute(&store.writer)
        .await
        .map(|r| r.rows_affected());
        assert!(
            integrity.is_ok(),
            "the index matches its content: {integrity:?}"
        );
        store.close().await;
    }
}
