//! [`Store`] on an SQLite file in WAL mode. Writes go through a pool of exactly one
//! connection, so SQLite never sees two writers and no transaction can fail with
//! `SQLITE_BUSY` on upgrade; reads use a separate pool and run beside the writer.
//! Message appends are group-committed (see `group_commit.rs`).

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, Sqlite, Transaction};

use app::model::{
    Audience, ConversationId, ConversationKind, EventId, Message, MessageId, Order, OrganisationId,
    Role, Seq, User, UserId,
};

use super::{
    AfterCommit, NewMessage, NewUser, Opened, OrganisationKind, PendingAppend, ReadPosition,
    Reader, Store, StoreError, StoreResult, StoredConversation, StoredEvent, StoredEventKind,
};

/// The migrations for this engine, embedded in the binary and applied at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// How the SQLite file is opened.
#[derive(Clone, Debug)]
pub struct SqliteSettings {
    /// Connections in the read pool.
    pub read_connections: u32,
    /// How long a statement waits for a lock before failing.
    pub busy_timeout: Duration,
    /// Most appends committed together (group commit).
    pub max_batch: usize,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        Self {
            read_connections: 8,
            busy_timeout: Duration::from_secs(5),
            max_batch: 256,
        }
    }
}

mod group_commit;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    appender: group_commit::Appender,
}

/// How every connection to the database file is set up, through sqlx or the writer's
/// own rusqlite connection.
pub(crate) const CONNECTION_PRAGMAS: [(&str, &str); 3] = [
    ("journal_mode", "WAL"),
    // FULL: an acked message survives a power cut, not only a crash.
    ("synchronous", "FULL"),
    ("foreign_keys", "ON"),
];

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path, settings: &SqliteSettings) -> StoreResult<Self> {
        let options = CONNECTION_PRAGMAS.into_iter().fold(
            SqliteConnectOptions::from_str("sqlite://")?
                .filename(path)
                .create_if_missing(true)
                .busy_timeout(settings.busy_timeout),
            |options, (name, value)| options.pragma(name, value),
        );
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(settings.read_connections.max(1))
            .connect_with(options.read_only(true))
            .await?;
        let appender =
            group_commit::Appender::start(path, settings.busy_timeout, settings.max_batch)?;
        Ok(Self {
            writer,
            reader,
            appender,
        })
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.organisation_id, \
     o.name AS organisation_name FROM users u JOIN organisations o ON o.id = u.organisation_id";

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        organisation_id: OrganisationId(row.try_get("organisation_id")?),
        organisation_name: row.try_get("organisation_name")?,
    })
}

const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body, \
     m.created_at_ms, u.display_name AS sender_name FROM messages m JOIN users u ON u.id = m.sender_id";

/// The message columns joined onto `events e`, for event listings.
const MESSAGE_COLUMNS_LEFT: &str = "m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.body, \
     m.created_at_ms, u.display_name AS sender_name FROM events e \
     LEFT JOIN messages m ON m.id = e.message_id LEFT JOIN users u ON u.id = m.sender_id";

fn message_from_row(row: &SqliteRow) -> StoreResult<Message> {
    let client_id: String = row.try_get("client_id")?;
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        conversation_id: ConversationId(row.try_get("conversation_id")?),
        seq: row.try_get("seq")?,
        sender_id: UserId(row.try_get("sender_id")?),
        sender_name: row.try_get("sender_name")?,
        client_id: client_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("client id {client_id}")))?,
        body: row.try_get("body")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

/// A viewer's read position, unread and mention counts, joined onto `conversations c`.
const READ_STATE_COLUMNS: &str = "COALESCE(r.last_read_seq, 0) AS last_read_seq, \
       (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id \
          AND m.seq > COALESCE(r.last_read_seq, 0) AND m.sender_id <> ?1) AS unread, \
       (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id \
          AND m.seq > COALESCE(r.last_read_seq, 0) AND m.sender_id <> ?1 \
          AND (m.mentions_everyone = 1 OR EXISTS (SELECT 1 FROM mentions x \
               WHERE x.user_id = ?1 AND x.message_id = m.id))) AS mentions \
     FROM conversations c \
     LEFT JOIN read_state r ON r.conversation_id = c.id AND r.user_id = ?1";

/// Which conversations a listing query returns.
enum Filter<'a> {
    VisibleTo,
    Id(ConversationId),
    Slug(&'a str),
    /// One conversation without anybody's read state: the cheap load for rule checks.
    Access(ConversationId),
}

impl SqliteStore {
    async fn load_conversations(
        &self,
        viewer: UserId,
        filter: Filter<'_>,
    ) -> StoreResult<Vec<StoredConversation>> {
        let condition = match filter {
            Filter::VisibleTo => {
                "c.kind IN ('channel', 'order') OR EXISTS (SELECT 1 FROM conversation_members cm \
                 WHERE cm.conversation_id = c.id AND cm.user_id = ?1)"
            }
            Filter::Id(_) | Filter::Access(_) => "c.id = ?2",
            Filter::Slug(_) => "c.slug = ?2",
        };
        let read_state = if matches!(filter, Filter::Access(_)) {
            "0 AS last_read_seq, 0 AS unread, 0 AS mentions FROM conversations c"
        } else {
            READ_STATE_COLUMNS
        };
        let sql = format!(
            "SELECT c.id, c.kind, c.slug, c.name, c.last_seq, {read_state} \
             WHERE {condition} ORDER BY c.id"
        );
        let mut query = sqlx::query(&sql).bind(viewer.0);
        query = match filter {
            Filter::VisibleTo => query,
            Filter::Id(id) | Filter::Access(id) => query.bind(id.0),
            Filter::Slug(slug) => query.bind(slug),
        };
        let rows = query.fetch_all(&self.reader).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let id_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let mut organisations: HashMap<i64, Vec<OrganisationId>> = HashMap::new();
        for row in sqlx::query(&format!(
            "SELECT conversation_id, organisation_id FROM conversation_organisations \
             WHERE conversation_id IN ({id_list}) ORDER BY organisation_id"
        ))
        .fetch_all(&self.reader)
        .await?
        {
            organisations
                .entry(row.try_get("conversation_id")?)
                .or_default()
                .push(OrganisationId(row.try_get("organisation_id")?));
        }
        let mut members: HashMap<i64, Vec<(UserId, String)>> = HashMap::new();
        for row in sqlx::query(&format!(
            "SELECT cm.conversation_id, u.id, u.display_name FROM conversation_members cm \
             JOIN users u ON u.id = cm.user_id WHERE cm.conversation_id IN ({id_list}) ORDER BY u.id"
        ))
        .fetch_all(&self.reader)
        .await?
        {
            members
                .entry(row.try_get("conversation_id")?)
                .or_default()
                .push((UserId(row.try_get("id")?), row.try_get("display_name")?));
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let kind: String = row.try_get("kind")?;
                let kind = ConversationKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("conversation kind {kind}")))?;
                let member_names = members.remove(&id).unwrap_or_default();
                let unread: i64 = row.try_get("unread")?;
                let mentions: i64 = row.try_get("mentions")?;
                Ok(StoredConversation {
                    id: ConversationId(id),
                    kind,
                    slug: row.try_get("slug")?,
                    name: row.try_get("name")?,
                    last_seq: row.try_get("last_seq")?,
                    audience: Audience {
                        kind,
                        organisations: organisations.remove(&id).unwrap_or_default(),
                        members: member_names.iter().map(|(id, _)| *id).collect(),
                    },
                    member_names,
                    last_read_seq: row.try_get("last_read_seq")?,
                    unread: u32::try_from(unread).unwrap_or(u32::MAX),
                    mentions: u32::try_from(mentions).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    /// Creates a conversation unless one with the same slug exists. Returns its id and
    /// whether it was created.
    async fn insert_conversation(
        tx: &mut Transaction<'_, Sqlite>,
        kind: ConversationKind,
        slug: &str,
        name: &str,
        external_ref: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<(i64, bool)> {
        let created = sqlx::query(
            "INSERT INTO conversations (kind, slug, name, external_ref, created_at_ms) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING RETURNING id",
        )
        .bind(kind.as_str())
        .bind(slug)
        .bind(name)
        .bind(external_ref)
        .bind(now_ms)
        .fetch_optional(&mut **tx)
        .await?;
        match created {
            Some(row) => Ok((row.try_get("id")?, true)),
            None => {
                let row = sqlx::query("SELECT id FROM conversations WHERE slug = ?")
                    .bind(slug)
                    .fetch_one(&mut **tx)
                    .await?;
                Ok((row.try_get("id")?, false))
            }
        }
    }

    async fn admit_organisations(
        tx: &mut Transaction<'_, Sqlite>,
        conversation: i64,
        organisations: &[OrganisationId],
    ) -> StoreResult<()> {
        for org in organisations {
            sqlx::query(
                "INSERT INTO conversation_organisations (conversation_id, organisation_id) \
                 VALUES (?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(conversation)
            .bind(org.0)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Appends an event in the transaction that makes the change it records.
    pub(super) async fn insert_event(
        tx: &mut Transaction<'_, Sqlite>,
        kind: &str,
        conversation: i64,
        message: Option<i64>,
        read: Option<(UserId, Seq)>,
        now_ms: i64,
    ) -> StoreResult<EventId> {
        let row = sqlx::query(
            "INSERT INTO events (kind, conversation_id, message_id, user_id, seq, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(kind)
        .bind(conversation)
        .bind(message)
        .bind(read.map(|(user, _)| user.0))
        .bind(read.map(|(_, seq)| seq))
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?;
        Ok(EventId(row.try_get("id")?))
    }

    /// The `conversation` event of a conversation created now.
    async fn announce(
        tx: &mut Transaction<'_, Sqlite>,
        conversation: i64,
        created: bool,
        now_ms: i64,
    ) -> StoreResult<Option<EventId>> {
        if !created {
            return Ok(None);
        }
        Ok(Some(
            Self::insert_event(tx, "conversation", conversation, None, None, now_ms).await?,
        ))
    }

    /// Messages by others after `seq`, and how many of them mention `user`.
    async fn unread_after(
        &self,
        user: UserId,
        conversation: ConversationId,
        seq: Seq,
    ) -> StoreResult<(u32, u32)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS unread, \
                    COALESCE(SUM(m.mentions_everyone = 1 OR EXISTS (SELECT 1 FROM mentions x \
                        WHERE x.user_id = ?3 AND x.message_id = m.id)), 0) AS mentions \
             FROM messages m WHERE m.conversation_id = ?1 AND m.seq > ?2 AND m.sender_id <> ?3",
        )
        .bind(conversation.0)
        .bind(seq)
        .bind(user.0)
        .fetch_one(&self.writer)
        .await?;
        let unread: i64 = row.try_get("unread")?;
        let mentions: i64 = row.try_get("mentions")?;
        Ok((
            u32::try_from(unread).unwrap_or(u32::MAX),
            u32::try_from(mentions).unwrap_or(u32::MAX),
        ))
    }

    async fn load_orders(&self, number: Option<i64>) -> StoreResult<Vec<Order>> {
        let rows = sqlx::query(
            "SELECT number, customer, sku, quantity, status FROM orders \
             WHERE ?1 IS NULL OR number = ?1 ORDER BY number DESC",
        )
        .bind(number)
        .fetch_all(&self.reader)
        .await?;
        let mut links: HashMap<i64, Vec<(OrganisationId, String)>> = HashMap::new();
        for row in sqlx::query(
            "SELECT l.order_number, o.id, o.name FROM order_organisations l \
             JOIN organisations o ON o.id = l.organisation_id \
             WHERE ?1 IS NULL OR l.order_number = ?1 ORDER BY o.id",
        )
        .bind(number)
        .fetch_all(&self.reader)
        .await?
        {
            links
                .entry(row.try_get("order_number")?)
                .or_default()
                .push((OrganisationId(row.try_get("id")?), row.try_get("name")?));
        }
        rows.iter()
            .map(|row| {
                let number: i64 = row.try_get("number")?;
                let linked = links.remove(&number).unwrap_or_default();
                Ok(Order {
                    number,
                    customer: row.try_get("customer")?,
                    sku: row.try_get("sku")?,
                    quantity: row.try_get("quantity")?,
                    status: row.try_get("status")?,
                    organisations: linked.iter().map(|(id, _)| *id).collect(),
                    organisation_names: linked.into_iter().map(|(_, name)| name).collect(),
                })
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn user_count(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get("n")?)
    }

    async fn create_organisation(
        &self,
        name: &str,
        kind: OrganisationKind,
    ) -> StoreResult<OrganisationId> {
        let row = sqlx::query("INSERT INTO organisations (name, kind) VALUES (?, ?) RETURNING id")
            .bind(name)
            .bind(kind.as_str())
            .fetch_one(&self.writer)
            .await?;
        Ok(OrganisationId(row.try_get("id")?))
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<UserId> {
        let row = sqlx::query(
            "INSERT INTO users (username, display_name, password_hash, role, organisation_id, \
             password_change_required, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.organisation_id.0)
        .bind(user.password_change_required)
        .bind(crate::clock::now_ms())
        .fetch_one(&self.writer)
        .await?;
        Ok(UserId(row.try_get("id")?))
    }

    async fn credentials(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let row = sqlx::query(&format!(
            "SELECT u.password_hash, {USER_COLUMNS} WHERE u.username = ?"
        ))
        .bind(username)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} ORDER BY u.display_name"))
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= ?")
            .bind(now_ms)
            .execute(&self.writer)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn session_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(User, bool)>> {
        let row = sqlx::query(&format!(
            "SELECT u.password_change_required, {USER_COLUMNS} \
             JOIN sessions s ON s.user_id = u.id \
             WHERE s.token_hash = ? AND s.expires_at_ms > ?"
        ))
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok((
                user_from_row(&row)?,
                row.try_get("password_change_required")?,
            ))
        })
        .transpose()
    }

    async fn set_password(&self, user: UserId, password_hash: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET password_hash = ?, password_change_required = 0 WHERE id = ?",
        )
        .bind(password_hash)
        .bind(user.0)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> StoreResult<Vec<String>> {
        let hashes = sqlx::query_scalar(
            "DELETE FROM sessions WHERE expires_at_ms <= ? RETURNING token_hash",
        )
        .bind(now_ms)
        .fetch_all(&self.writer)
        .await?;
        Ok(hashes)
    }

    async fn create_channel(
        &self,
        name: &str,
        organisations: &[OrganisationId],
        now_ms: i64,
    ) -> StoreResult<ConversationId> {
        let mut tx = self.writer.begin().await?;
        let (id, _) =
            Self::insert_conversation(&mut tx, ConversationKind::Channel, name, name, None, now_ms)
                .await?;
        Self::admit_organisations(&mut tx, id, organisations).await?;
        tx.commit().await?;
        Ok(ConversationId(id))
    }

    async fn conversations_for(&self, viewer: UserId) -> StoreResult<Vec<StoredConversation>> {
        self.load_conversations(viewer, Filter::VisibleTo).await
    }

    async fn conversation(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>> {
        Ok(self.load_conversations(viewer, Filter::Id(id)).await?.pop())
    }

    async fn conversation_access(&self, id: ConversationId) -> StoreResult<Option<Audience>> {
        Ok(self
            .load_conversations(UserId(0), Filter::Access(id))
            .await?
            .pop()
            .map(|c| c.audience))
    }

    async fn conversation_by_slug(
        &self,
        slug: &str,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>> {
        Ok(self
            .load_conversations(viewer, Filter::Slug(slug))
            .await?
            .pop())
    }

    async fn open_direct(&self, a: UserId, b: UserId, now_ms: i64) -> StoreResult<Opened> {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let slug = format!("dm-{lo}-{hi}");
        let mut tx = self.writer.begin().await?;
        let (id, created) = Self::insert_conversation(
            &mut tx,
            ConversationKind::Direct,
            &slug,
            &slug,
            None,
            now_ms,
        )
        .await?;
        if created {
            for member in [lo, hi] {
                sqlx::query(
                    "INSERT INTO conversation_members (conversation_id, user_id) VALUES (?, ?)",
                )
                .bind(id)
                .bind(member.0)
                .execute(&mut *tx)
                .await?;
            }
        }
        let event = Self::announce(&mut tx, id, created, now_ms).await?;
        tx.commit().await?;
        Ok(Opened {
            id: ConversationId(id),
            created: event,
        })
    }

    async fn open_order_thread(
        &self,
        number: i64,
        organisations: &[OrganisationId],
        now_ms: i64,
    ) -> StoreResult<Opened> {
        let slug = format!("order-{number}");
        let external = format!("order:{number}");
        let mut tx = self.writer.begin().await?;
        let (id, created) = Self::insert_conversation(
            &mut tx,
            ConversationKind::Order,
            &slug,
            &number.to_string(),
            Some(&external),
            now_ms,
        )
        .await?;
        if created {
            Self::admit_organisations(&mut tx, id, organisations).await?;
        }
        let event = Self::announce(&mut tx, id, created, now_ms).await?;
        tx.commit().await?;
        Ok(Opened {
            id: ConversationId(id),
            created: event,
        })
    }

    async fn submit_append(
        &self,
        message: NewMessage,
        after_commit: AfterCommit,
    ) -> StoreResult<PendingAppend> {
        self.appender.submit(message, after_commit).await
    }

    async fn history(
        &self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} WHERE m.conversation_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?"
        ))
        .bind(conversation.0)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(message_from_row)
        .collect()
    }

    async fn mark_read(
        &self,
        user: UserId,
        conversation: ConversationId,
        seq: Seq,
        now_ms: i64,
    ) -> StoreResult<ReadPosition> {
        // IMMEDIATE: it reads before it writes, and another writer (the group-commit
        // thread) may commit in between.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(last_read_seq), 0) FROM read_state \
                     WHERE user_id = ?1 AND conversation_id = ?2) AS seq, \
                    (SELECT last_seq FROM conversations WHERE id = ?2) AS last_seq",
        )
        .bind(user.0)
        .bind(conversation.0)
        .fetch_one(&mut *tx)
        .await?;
        let current: Seq = row.try_get("seq")?;
        let last_seq: Option<Seq> = row.try_get("last_seq")?;
        // Never past the newest message.
        let seq = seq.min(last_seq.unwrap_or(0));
        let mut event_id = None;
        if seq > current {
            sqlx::query(
                "INSERT INTO read_state (user_id, conversation_id, last_read_seq) VALUES (?, ?, ?) \
                 ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_seq = excluded.last_read_seq",
            )
            .bind(user.0)
            .bind(conversation.0)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
            event_id = Some(
                Self::insert_event(
                    &mut tx,
                    "read",
                    conversation.0,
                    None,
                    Some((user, seq)),
                    now_ms,
                )
                .await?,
            );
        }
        tx.commit().await?;
        let last_read_seq = seq.max(current);
        let (unread, mentions) = self.unread_after(user, conversation, last_read_seq).await?;
        Ok(ReadPosition {
            last_read_seq,
            unread,
            mentions,
            event_id,
        })
    }

    async fn readers(&self, conversation: ConversationId) -> StoreResult<Vec<Reader>> {
        sqlx::query(
            "SELECT r.user_id, u.display_name, r.last_read_seq FROM read_state r \
             JOIN users u ON u.id = r.user_id WHERE r.conversation_id = ? \
             ORDER BY r.last_read_seq DESC, u.display_name",
        )
        .bind(conversation.0)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| {
            Ok(Reader {
                user_id: UserId(row.try_get("user_id")?),
                display_name: row.try_get("display_name")?,
                last_read_seq: row.try_get("last_read_seq")?,
            })
        })
        .collect()
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} WHERE m.conversation_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?"
        ))
        .bind(conversation.0)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(message_from_row)
        .collect()
    }

    async fn last_event_id(&self) -> StoreResult<EventId> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM events")
            .fetch_one(&self.reader)
            .await?;
        Ok(EventId(row.try_get("id")?))
    }

    async fn message_events_between(
        &self,
        after: EventId,
        upto: EventId,
    ) -> StoreResult<Vec<(ConversationId, u64)>> {
        sqlx::query(
            "SELECT conversation_id, COUNT(*) AS n FROM events \
             WHERE id > ? AND id <= ? AND kind = 'message' GROUP BY conversation_id",
        )
        .bind(after.0)
        .bind(upto.0)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| {
            let n: i64 = row.try_get("n")?;
            Ok((
                ConversationId(row.try_get("conversation_id")?),
                u64::try_from(n).unwrap_or_default(),
            ))
        })
        .collect()
    }

    async fn events_between(
        &self,
        after: EventId,
        upto: EventId,
        skip: &[ConversationId],
    ) -> StoreResult<Vec<StoredEvent>> {
        let skip_list = skip
            .iter()
            .map(|c| c.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT e.id AS event_id, e.kind, e.conversation_id AS event_conversation, \
                    e.user_id AS read_user, ru.display_name AS read_user_name, e.seq AS read_seq, \
                    {MESSAGE_COLUMNS_LEFT} LEFT JOIN users ru ON ru.id = e.user_id \
             WHERE e.id > ? AND e.id <= ? \
               AND NOT (e.kind = 'message' AND e.conversation_id IN ({skip_list})) \
             ORDER BY e.id"
        );
        sqlx::query(&sql)
            .bind(after.0)
            .bind(upto.0)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let kind = match kind.as_str() {
                    "message" => StoredEventKind::Message(message_from_row(row)?),
                    "read" => StoredEventKind::Read {
                        user_id: UserId(row.try_get("read_user")?),
                        name: row.try_get("read_user_name")?,
                        seq: row.try_get("read_seq")?,
                    },
                    "conversation" => StoredEventKind::Conversation,
                    other => return Err(StoreError::Corrupt(format!("event kind {other}"))),
                };
                Ok(StoredEvent {
                    id: EventId(row.try_get("event_id")?),
                    conversation_id: ConversationId(row.try_get("event_conversation")?),
                    kind,
                })
            })
            .collect()
    }

    async fn create_order(&self, order: &Order) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO orders (number, customer, sku, quantity, status) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(order.number)
        .bind(&order.customer)
        .bind(&order.sku)
        .bind(order.quantity)
        .bind(&order.status)
        .execute(&mut *tx)
        .await?;
        for org in &order.organisations {
            sqlx::query(
                "INSERT INTO order_organisations (order_number, organisation_id) VALUES (?, ?)",
            )
            .bind(order.number)
            .bind(org.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn orders(&self) -> StoreResult<Vec<Order>> {
        self.load_orders(None).await
    }

    async fn order(&self, number: i64) -> StoreResult<Option<Order>> {
        Ok(self.load_orders(Some(number)).await?.pop())
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| r.try_get("value"))
            .transpose()
            .map_err(Into::into)
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                    .foreign_keys(true),
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
}
