//! Storage: the one place that knows SQL. [`Store`] is the narrow interface the chat
//! logic uses; [`sqlite::SqliteStore`] implements it (PostgreSQL comes next, behind the
//! same trait). Rows are private to the implementations and leave as `app` model types
//! or the small records below. Nothing here checks permissions: that is `chat`'s job.

use app::model::{
    Audience, ClientId, ConversationId, ConversationKind, EventId, Message, Order, OrganisationId,
    Role, Seq, User, UserId,
};

pub mod sqlite;

/// A storage failure. Callers log it and answer `internal`; the text never reaches a
/// client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("writer: {0}")]
    Writer(#[from] rusqlite::Error),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The kinds of organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganisationKind {
    Internal,
    Client,
    Manufacturer,
}

impl OrganisationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::Internal => "internal",
            OrganisationKind::Client => "client",
            OrganisationKind::Manufacturer => "manufacturer",
        }
    }
}

/// A user to create. `password_hash` is an argon2 PHC string, never a password.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub organisation_id: OrganisationId,
    /// The password is a one-time one: the first sign-in must choose another.
    pub password_change_required: bool,
}

/// A conversation as stored, with one viewer's read position in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConversation {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub slug: String,
    pub name: String,
    pub last_seq: Seq,
    pub audience: Audience,
    /// Members' ids and display names (direct and group only).
    pub member_names: Vec<(UserId, String)>,
    /// The viewer's last read `seq` (0 when never read).
    pub last_read_seq: Seq,
    /// Messages by others after `last_read_seq`.
    pub unread: u32,
    /// Of those, the ones mentioning the viewer (or everyone).
    pub mentions: u32,
}

/// A message to append.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub sender_id: UserId,
    /// The sender's display name, as the stored message is returned with it.
    pub sender_name: String,
    pub client_id: ClientId,
    pub body: String,
    pub created_at_ms: i64,
}

/// The outcome of an append: the stored message, and its new event, or `None` when it
/// was stored earlier under the same (sender, client id) and nothing new was written.
#[derive(Clone, Debug)]
pub struct Appended {
    pub message: Message,
    pub event_id: Option<EventId>,
}

/// Runs right after the append's transaction commits, in commit order: how fan-out keeps
/// each conversation's `seq` order even when many appends are committed together. It
/// must not block.
pub type AfterCommit = Box<dyn FnOnce(&Appended) + Send + Sync>;

/// An append that is queued in commit order and resolves once committed (or failed).
pub type PendingAppend =
    std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<Appended>> + Send>>;

/// Where a read position stands after `mark_read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadPosition {
    pub last_read_seq: Seq,
    /// Messages by others after `last_read_seq`.
    pub unread: u32,
    /// Of those, the ones mentioning the reader (or everyone).
    pub mentions: u32,
    /// The event recording the move; `None` when the position did not move.
    pub event_id: Option<EventId>,
}

/// A conversation found or created by `open_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    pub id: ConversationId,
    /// The event announcing it, when it was created now.
    pub created: Option<EventId>,
}

/// One entry of the durable event stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: EventId,
    pub conversation_id: ConversationId,
    pub kind: StoredEventKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredEventKind {
    Message(Message),
    Read {
        user_id: UserId,
        name: String,
        seq: Seq,
    },
    Conversation,
}

/// Someone's read position in a conversation, for "seen by".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    pub user_id: UserId,
    pub display_name: String,
    pub last_read_seq: Seq,
}

/// Everything Parley stores, behind one narrow interface.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    // --- accounts and sessions
    async fn user_count(&self) -> StoreResult<i64>;
    async fn create_organisation(
        &self,
        name: &str,
        kind: OrganisationKind,
    ) -> StoreResult<OrganisationId>;
    async fn create_user(&self, user: NewUser) -> StoreResult<UserId>;
    /// The user and their password hash, by username.
    async fn credentials(&self, username: &str) -> StoreResult<Option<(User, String)>>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    /// The user of an unexpired session.
    /// The user of an unexpired session, and whether they must choose a new password.
    async fn session_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(User, bool)>>;
    /// Replaces the user's password hash and clears `password_change_required`.
    async fn set_password(&self, user: UserId, password_hash: &str) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Deletes every session expired at `now_ms`; returns their token hashes.
    async fn delete_expired_sessions(&self, now_ms: i64) -> StoreResult<Vec<String>>;

    // --- conversations
    async fn create_channel(
        &self,
        name: &str,
        organisations: &[OrganisationId],
        now_ms: i64,
    ) -> StoreResult<ConversationId>;
    /// Every channel and order thread, and the direct and group conversations `viewer`
    /// is a member of, with `viewer`'s read state. The caller filters by the rules.
    async fn conversations_for(&self, viewer: UserId) -> StoreResult<Vec<StoredConversation>>;
    async fn conversation(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>>;
    /// One conversation's audience (its kind, organisations and members): the cheap load
    /// behind every rule check.
    async fn conversation_access(&self, id: ConversationId) -> StoreResult<Option<Audience>>;
    async fn conversation_by_slug(
        &self,
        slug: &str,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>>;
    /// The direct conversation of two users, created if missing (with an event).
    async fn open_direct(&self, a: UserId, b: UserId, now_ms: i64) -> StoreResult<Opened>;
    /// The thread of order `number`, created if missing (with an event), admitting
    /// `organisations`.
    async fn open_order_thread(
        &self,
        number: i64,
        organisations: &[OrganisationId],
        now_ms: i64,
    ) -> StoreResult<Opened>;

    // --- messages and read state
    /// Appends a message with the conversation's next `seq`, its event, and the sender's
    /// read position moved to it, in one transaction; or returns the message stored
    /// earlier under the same (sender, client id).
    async fn append_message(
        &self,
        message: NewMessage,
        after_commit: AfterCommit,
    ) -> StoreResult<Appended> {
        self.submit_append(message, after_commit).await?.await
    }
    /// Queues an append behind every append submitted before it (so one connection's
    /// messages keep their order) and returns without waiting for the commit.
    async fn submit_append(
        &self,
        message: NewMessage,
        after_commit: AfterCommit,
    ) -> StoreResult<PendingAppend>;
    /// Up to `limit` messages with `seq < before` (all when `None`), newest first.
    async fn history(
        &self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// Moves `user`'s read position forward to `seq` (never back, never past the newest
    /// message), recording an event when it moved.
    async fn mark_read(
        &self,
        user: UserId,
        conversation: ConversationId,
        seq: Seq,
        now_ms: i64,
    ) -> StoreResult<ReadPosition>;
    /// Everyone's read position in a conversation, furthest first.
    async fn readers(&self, conversation: ConversationId) -> StoreResult<Vec<Reader>>;
    /// Up to `limit` messages with `seq > after`, oldest first (filling a gap).
    async fn messages_after(
        &self,
        conversation: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;

    // --- the event stream
    /// The newest event's id (0 when there is none).
    async fn last_event_id(&self) -> StoreResult<EventId>;
    /// How many message events each conversation has in `(after, upto]`.
    async fn message_events_between(
        &self,
        after: EventId,
        upto: EventId,
    ) -> StoreResult<Vec<(ConversationId, u64)>>;
    /// The events in `(after, upto]`, oldest first, leaving out the message events of
    /// `skip` conversations.
    async fn events_between(
        &self,
        after: EventId,
        upto: EventId,
        skip: &[ConversationId],
    ) -> StoreResult<Vec<StoredEvent>>;

    // --- the dashboard's demo orders
    async fn create_order(&self, order: &Order) -> StoreResult<()>;
    async fn orders(&self) -> StoreResult<Vec<Order>>;
    async fn order(&self, number: i64) -> StoreResult<Option<Order>>;

    // --- one-off facts
    async fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
}
