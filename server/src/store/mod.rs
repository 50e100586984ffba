//! Storage: the one place that knows SQL. [`Store`] is the narrow interface the chat
//! logic uses; [`sqlite::SqliteStore`] implements it (PostgreSQL comes next, behind the
//! same trait). Rows are private to the implementations and leave as `app` model types
//! or the small records below. Nothing here checks permissions: that is `chat`'s job.

use crate::config::Secret;

use app::model::{
    Attachment, AttachmentId, Audience, AuditEntry, ChannelSettings, ClientId, ConversationId,
    ConversationKind, Emoji, EventId, LastMessage, Mentions, Message, MessageId, MessageVersion,
    Order, Organisation, OrganisationId, Role, Seq, Shipment, Theme, ThreadRef, User, UserId,
};

pub mod postgres;
pub(crate) mod queue;
pub(crate) mod reads;
pub(crate) mod rows;
pub mod sqlite;
#[cfg(test)]
mod visible_text;

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

/// How long a client waits before retrying when the database cannot be reached.
pub const UNAVAILABLE_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

impl StoreError {
    /// The database could not be reached (or is shutting down, or has no connection to
    /// spare), as opposed to a query that failed: nothing was written, and the same
    /// request may well succeed in a moment.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(error) => match error {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // PostgreSQL's connection exceptions (class 08), an administrator's
                // shutdown or a server still starting (57P01–57P03), and no
                // connection slots left (53300).
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
                }),
                _ => false,
            },
            _ => false,
        }
    }

    /// What a client is told: `unavailable` (try again shortly) or `internal`. The
    /// details go to the log.
    pub fn to_api(&self, context: &str) -> app::error::ApiError {
        if self.is_unavailable() {
            tracing::warn!(error = %self, "{context}: the database is unavailable");
            app::error::ApiError::unavailable(UNAVAILABLE_RETRY)
        } else {
            tracing::error!(error = %self, "{context}");
            app::error::ApiError::internal()
        }
    }
}

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

/// Where a new single sign-on account's username starts: the email's local part in the
/// letters a username may have (`user` when none is left); a number makes it unique.
pub(crate) fn sso_username_base(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default();
    let base: String = local
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(56)
        .collect();
    if base.is_empty() { "user".into() } else { base }
}

/// A user to create. `password_hash` is an argon2 PHC string, never a password.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: Secret,
    pub role: Role,
    pub organisation_id: OrganisationId,
    /// The password is a one-time one: the first sign-in must choose another.
    pub password_change_required: bool,
}

/// Who a host dashboard says is signing in: the claims of a verified single sign-on
/// token (SPEC.md §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoIdentity {
    /// The host's user id: names one Parley user for good.
    pub subject: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    /// The organisation, by name: created on first use.
    pub organisation: String,
    pub organisation_kind: OrganisationKind,
}

/// The password hash of an account made by single sign-on: it passes the `users` CHECK
/// but is no argon2 hash, so no password ever matches it (until an admin issues one).
pub const SSO_ONLY_PASSWORD_HASH: &str = "$argon2id$sso-only";

/// What signing in an [`SsoIdentity`] came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SsoSignIn {
    /// The token's nonce was used before: nothing changed.
    Replayed,
    /// The organisation exists with another kind; nothing changed but the spent nonce.
    OrganisationKindDiffers,
    /// The account is disabled; nothing changed but the spent nonce.
    Disabled,
    SignedIn {
        user: User,
        /// The account was made now.
        created: bool,
        /// Its role or organisation changed now (what it may see changed).
        access_changed: bool,
    },
}

/// A conversation as stored, with one viewer's read position in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConversation {
    pub id: ConversationId,
    pub kind: ConversationKind,
    pub slug: String,
    pub name: String,
    /// False for a group without a name of its own (listed by its members' names).
    pub named: bool,
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
    /// The newest message, previewed.
    pub last_message: Option<LastMessage>,
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
    /// The message it answers, checked to be in the same conversation.
    pub reply_to: Option<MessageId>,
    /// Uploads of the sender's in this conversation that the message takes.
    pub attachments: Vec<AttachmentId>,
}

/// An uploaded file to record.
#[derive(Clone, Debug)]
pub struct NewAttachment {
    pub conversation_id: ConversationId,
    pub uploader_id: UserId,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// The SHA-256 of the bytes, as stored by the blob store.
    pub hash: String,
    /// An image's thumbnail: its hash, width and height.
    pub thumbnail: Option<(String, u32, u32)>,
    pub created_at_ms: i64,
}

/// A stored attachment and what deciding who may fetch it needs.
#[derive(Clone, Debug)]
pub struct StoredAttachment {
    pub attachment: Attachment,
    pub conversation_id: ConversationId,
    pub uploader_id: UserId,
    /// The message that took it, if one has.
    pub message_id: Option<MessageId>,
    pub hash: String,
    pub thumb_hash: Option<String>,
}

/// The outcome of an append: the stored message, and its new event, or `None` when it
/// was stored earlier under the same (sender, client id) and nothing new was written.
#[derive(Clone, Debug)]
pub struct Appended {
    pub message: Message,
    pub event_id: Option<EventId>,
}

/// Where a read position stands after a [`Write::MarkRead`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadPosition {
    pub last_read_seq: Seq,
    /// Messages by others after `last_read_seq` (deleted ones do not count).
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

/// A message after an edit, a delete or a reaction.
#[derive(Clone, Debug)]
pub struct Changed {
    /// The message as it now is.
    pub message: Message,
    /// Who it mentioned before the change.
    pub mentions_before: Mentions,
    /// The event recording the change; `None` when nothing changed (a repeated request).
    pub event_id: Option<EventId>,
}

/// Every change that writes to the event stream. They all go through one writer, one
/// after another, so event ids follow commit order and each change is published, right
/// after its commit, in that order: a client that saw event N has seen every event before N.
#[derive(Clone, Debug)]
pub enum Write {
    /// A message with the conversation's next `seq`, its event, and the sender's read
    /// position moved to it; or, for a (sender, client id) stored before, that message.
    Append(NewMessage),
    /// `user`'s read position moved forward to `seq` (never back, never past the newest
    /// message), with an event when it moved.
    MarkRead {
        user: UserId,
        conversation: ConversationId,
        seq: Seq,
        now_ms: i64,
    },
    /// The direct conversation of two users, created (with its event) if missing.
    OpenDirect { a: UserId, b: UserId, now_ms: i64 },
    /// The thread about an order, SKU or shipment, created (with its event) if missing,
    /// admitting `organisations` (and internal staff).
    OpenThread {
        reference: ThreadRef,
        organisations: Vec<OrganisationId>,
        now_ms: i64,
    },
    /// A new text for a message, replacing version `replaces` (kept in its history). The
    /// same edit repeated changes nothing; any other edit of another version is stale.
    Edit {
        message: MessageId,
        replaces: u32,
        body: String,
        now_ms: i64,
    },
    /// A soft delete: the text and its history go, the row and its place stay; recorded
    /// in the audit log with who did it.
    Delete {
        message: MessageId,
        actor: UserId,
        now_ms: i64,
    },
    /// A channel admitting `roles` of `organisations`, announced by an event and audited
    /// as created by `actor`; `created` is `None` when the name is taken.
    CreateChannel {
        name: String,
        organisations: Vec<OrganisationId>,
        roles: Vec<Role>,
        actor: UserId,
        now_ms: i64,
    },
    /// A channel renamed, archived or unarchived, or admitting other organisations or
    /// roles: the whole new state. Audited as done by `actor`; one event when anything
    /// changed (`membership` when whom it admits changed, `conversation` otherwise).
    ChangeChannel {
        conversation: ConversationId,
        change: ChannelSettings,
        actor: UserId,
        now_ms: i64,
    },
    /// A group of `members` (the creator among them), named or not, announced by an event.
    CreateGroup {
        /// Its `/chat/{slug}`: random, as groups are not found by name.
        slug: String,
        members: Vec<UserId>,
        name: Option<String>,
        now_ms: i64,
    },
    /// People added to a group: a `membership` event for each one not already in it.
    AddMembers {
        conversation: ConversationId,
        users: Vec<UserId>,
        now_ms: i64,
    },
    /// `user` leaves a group: a `membership` event.
    Leave {
        conversation: ConversationId,
        user: UserId,
        now_ms: i64,
    },
    /// Deletes for good up to `limit` of the messages sent before `before_ms` (oldest
    /// first), with everything attached to them; no event (a client drops them on its
    /// next load).
    Purge { before_ms: i64, limit: u32 },
    /// Puts every message not yet in the full-text index into it (the writer does so by
    /// itself every few thousand appends, or when idle; a search asks first).
    IndexPending,
    /// `user` mutes (`muted`) or unmutes a conversation, for themselves: a `mute` event
    /// when that changed anything, so their other tabs follow.
    SetMuted {
        user: UserId,
        conversation: ConversationId,
        muted: bool,
        now_ms: i64,
    },
    /// `user`'s reaction `emoji` set (`on`) or removed; repeating it changes nothing.
    React {
        message: MessageId,
        user: UserId,
        emoji: Emoji,
        on: bool,
        now_ms: i64,
    },
}

/// A channel before and after a [`Write::ChangeChannel`].
#[derive(Clone, Debug)]
pub struct ChannelChanged {
    pub before: Audience,
    pub after: Audience,
    pub slug: String,
    pub name: String,
    pub last_seq: Seq,
    /// `None` when nothing changed.
    pub event_id: Option<EventId>,
}

/// What a [`Write`] did.
#[derive(Clone, Debug)]
pub enum Written {
    Appended(Appended),
    Read(ReadPosition),
    /// A mute set or lifted, with its event; `None` when it already was so.
    Muted(Option<EventId>),
    Opened(Opened),
    Changed(Changed),
    /// Who joined or left a group, with the event of each change (none when nothing
    /// changed), and the members it has now.
    Membership {
        changes: Vec<(UserId, EventId)>,
        members: Vec<UserId>,
    },
    ChannelChanged(ChannelChanged),
    /// The name is taken by another channel.
    NameTaken,
    /// How many messages a purge deleted, and the blobs (by hash) nothing refers to now.
    Purged {
        messages: u64,
        blobs: Vec<String>,
    },
    /// How many messages went into the full-text index.
    Indexed(u64),
    /// The change no longer applies: the message was deleted, or (an edit) another edit
    /// landed first. Here is the message as it is.
    Stale(Message),
    /// No such message.
    Missing,
}

/// Runs right after the write's transaction commits, in commit order: how fan-out keeps
/// the event order even when many writes are committed together. It must not block.
pub type AfterCommit = Box<dyn FnOnce(&Written) + Send + Sync>;

/// A write that is queued in commit order and resolves once committed (or failed).
pub type PendingWrite =
    std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<Written>> + Send>>;

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
    /// Edited, deleted or reacted to: the message as it is now.
    MessageChanged(Message),
    Read {
        user_id: UserId,
        name: String,
        seq: Seq,
    },
    Conversation,
    /// Someone joined or left a group (`user_id`), or a channel admits other
    /// organisations or roles (`None`).
    Membership {
        user_id: Option<UserId>,
    },
    /// `user_id` muted or unmuted the conversation: theirs alone to hear.
    Mute {
        user_id: UserId,
    },
}

/// What a search looks for, with the rules already applied: only in `conversations`.
#[derive(Clone, Debug, Default)]
pub struct SearchFilter {
    /// The conversations to search (those the user may see, narrowed by `in:`).
    pub conversations: Vec<ConversationId>,
    /// Instead of `conversations`: every conversation this user may see, tested message
    /// by message as the newest matches are walked. Cheaper than naming the
    /// conversations when there are very many (staff see every order thread).
    pub visible_to: Option<app::rules::Actor>,
    /// Only messages by these people (`from:`), when given.
    pub senders: Option<Vec<UserId>>,
    /// Words and phrases that must all occur (each engine makes its own full-text
    /// query of them: FTS5 on SQLite, `tsquery` on PostgreSQL).
    pub terms: Vec<app::search::Term>,
    pub before_ms: Option<i64>,
    pub after_ms: Option<i64>,
    pub has_link: bool,
    /// Only messages with an attachment.
    pub has_file: bool,
    pub limit: u32,
}

/// Marks the start and end of a match in a search snippet. (Control characters are not
/// typed into chat; one that was would only move the highlighting.)
pub const SNIPPET_START: char = '\u{2}';
pub const SNIPPET_END: char = '\u{3}';

/// Someone's read position in a conversation, for "seen by".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    pub user_id: UserId,
    pub display_name: String,
    pub last_read_seq: Seq,
}

/// Everything Parley stores, behind one narrow interface made of its sections.
pub trait Store:
    Accounts
    + ApiTokens
    + Notifications
    + Conversations
    + Messages
    + Attachments
    + Events
    + Orders
    + Settings
    + Audit
    + Writes
{
}

impl<
    T: Accounts
        + ApiTokens
        + Notifications
        + Conversations
        + Messages
        + Attachments
        + Events
        + Orders
        + Settings
        + Audit
        + Writes,
> Store for T
{
}

/// The engine a server runs on: SQLite in its data folder, or PostgreSQL.
pub enum Engine {
    Sqlite(std::sync::Arc<sqlite::SqliteStore>),
    Postgres(std::sync::Arc<postgres::PostgresStore>),
}

impl Engine {
    /// Opens (and migrates) PostgreSQL at `database_url` when given, otherwise the SQLite
    /// file at `sqlite_path`.
    pub async fn open(
        database_url: Option<&str>,
        settings: postgres::PostgresSettings,
        sqlite_path: &std::path::Path,
        sqlite_settings: &sqlite::SqliteSettings,
    ) -> StoreResult<Self> {
        Ok(match database_url {
            Some(url) => Self::Postgres(std::sync::Arc::new(
                postgres::PostgresStore::open(url, &settings).await?,
            )),
            None => Self::Sqlite(std::sync::Arc::new(
                sqlite::SqliteStore::open(sqlite_path, sqlite_settings).await?,
            )),
        })
    }

    pub fn store(&self) -> std::sync::Arc<dyn Store> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }
}

/// The section traits, for callers of a [`Store`].
pub mod prelude {
    pub use super::{
        Accounts, ApiTokens, Attachments, Audit, Conversations, Events, Messages, Notifications,
        Orders, Settings, Store, Writes,
    };
}

/// A message someone has not read, old enough to be emailed about: in a direct or group
/// conversation of theirs, or mentioning them by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailCandidate {
    pub user: UserId,
    pub email: String,
    pub conversation: ConversationId,
    pub kind: app::model::ConversationKind,
    pub slug: String,
    pub conversation_name: String,
    pub seq: Seq,
    pub sender_name: String,
    pub body: String,
    pub created_at_ms: i64,
}

/// Email notifications: who wants them, what is unread and old enough, what was sent.
#[async_trait::async_trait]
pub trait Notifications: Send + Sync + 'static {
    /// Unread, undeleted messages by others created in `since..=until`, in direct and
    /// group conversations of people who have an address and want email, or mentioning
    /// them by name; after what an email already told them of. Per user, oldest first.
    async fn email_candidates(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> StoreResult<Vec<EmailCandidate>>;
    /// Records that `user` was emailed about `conversation` up to `seq`.
    async fn mark_emailed(&self, user: UserId, sent: &[(ConversationId, Seq)]) -> StoreResult<()>;
    /// The person's address and whether they want email.
    async fn email_preferences(&self, user: UserId) -> StoreResult<(Option<String>, bool)>;
    async fn set_email_notifications(&self, user: UserId, enabled: bool) -> StoreResult<()>;
    async fn set_email(&self, user: UserId, email: Option<&str>) -> StoreResult<()>;
}

/// Personal access tokens for the REST API (only their SHA-256 is stored).
#[async_trait::async_trait]
pub trait ApiTokens: Send + Sync + 'static {
    /// Stores a new token of `user`'s; its id.
    async fn create_api_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        scopes: &[app::model::ApiScope],
        now_ms: i64,
    ) -> StoreResult<i64>;
    /// `user`'s tokens, newest first, revoked ones included.
    async fn api_tokens(&self, user: UserId) -> StoreResult<Vec<app::model::ApiToken>>;
    /// Revokes `user`'s token `id`; false when they have no such working token.
    async fn revoke_api_token(&self, user: UserId, id: i64, now_ms: i64) -> StoreResult<bool>;
    /// The owner of a working token (not revoked, owner not disabled) and its scopes.
    async fn api_token_user(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(User, Vec<app::model::ApiScope>)>>;
}

/// Users, organisations and sessions.
#[async_trait::async_trait]
pub trait Accounts: Send + Sync + 'static {
    async fn user_count(&self) -> StoreResult<i64>;
    async fn create_organisation(
        &self,
        name: &str,
        kind: OrganisationKind,
    ) -> StoreResult<OrganisationId>;
    async fn create_user(&self, user: NewUser) -> StoreResult<UserId>;
    /// The user and their password hash, by username.
    async fn credentials(&self, username: &str) -> StoreResult<Option<(User, Secret)>>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// The people others may pick and see as members: enabled, and past their first
    /// sign-in (an account with a one-time password still to change is nobody yet, like
    /// the first-run `admin`).
    async fn active_users(&self) -> StoreResult<Vec<User>>;
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    /// The user of an unexpired session, and whether they must choose a new password.
    async fn session_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(User, bool)>>;
    /// Replaces the user's password hash and clears `password_change_required`, and, in
    /// the same transaction, ends every session of theirs but `keep` (the one choosing
    /// it); returns the ended sessions' token hashes.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &Secret,
        keep: &str,
    ) -> StoreResult<Vec<String>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Deletes every session expired at `now_ms`; returns their token hashes.
    async fn delete_expired_sessions(&self, now_ms: i64) -> StoreResult<Vec<String>>;
    /// Deletes every session of `user`; returns their token hashes.
    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<Vec<String>>;
    /// Disables `user` (no sign-in, no session) or enables them again.
    async fn set_disabled(&self, user: UserId, disabled_at_ms: Option<i64>) -> StoreResult<()>;
    /// The disabled accounts.
    async fn disabled_users(&self) -> StoreResult<Vec<UserId>>;
    /// Gives `user` another role and organisation.
    async fn set_role(
        &self,
        user: UserId,
        role: Role,
        organisation: OrganisationId,
    ) -> StoreResult<()>;
    /// Gives `user` a one-time password: the next sign-in must choose a new one.
    async fn set_one_time_password(&self, user: UserId, password_hash: &Secret) -> StoreResult<()>;
    /// In one transaction: spends `nonce` (kept until `nonce_expires_at_ms`, when the
    /// token it came with expires; older ones are forgotten at `now_ms`), finds or makes
    /// the organisation by name, and makes or updates the user by subject.
    async fn sso_sign_in(
        &self,
        identity: &SsoIdentity,
        nonce: &str,
        nonce_expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<SsoSignIn>;
    /// The user a single sign-on subject names, if it signed in before.
    async fn sso_user(&self, subject: &str) -> StoreResult<Option<UserId>>;
    async fn theme(&self, user: UserId) -> StoreResult<Theme>;
    /// The conversations `user` muted.
    async fn muted(&self, user: UserId) -> StoreResult<Vec<ConversationId>>;
    async fn set_theme(&self, user: UserId, theme: Theme) -> StoreResult<()>;
}

/// Conversations and who they admit.
#[async_trait::async_trait]
pub trait Conversations: Send + Sync + 'static {
    /// A channel admitting every role of `organisations`, without an event: for seeding
    /// a database nobody is connected to yet.
    async fn create_channel(
        &self,
        name: &str,
        organisations: &[OrganisationId],
        now_ms: i64,
    ) -> StoreResult<ConversationId>;
    /// What `viewer`'s conversation list holds, with their read state: the channels,
    /// direct and group conversations they are in, the order threads they follow and the
    /// `recent_threads` most recently active others. It may hold more than they may
    /// see; the caller filters by the rules.
    async fn conversations_for(
        &self,
        viewer: &app::rules::Actor,
        recent_threads: u32,
    ) -> StoreResult<Vec<StoredConversation>>;
    /// Every conversation `viewer` may see (by the same rules, in SQL), ids only: what a
    /// search looks through.
    async fn visible_ids(&self, viewer: &app::rules::Actor) -> StoreResult<Vec<ConversationId>>;
    async fn conversation(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>>;
    /// One conversation's audience (its kind, organisations and members): the cheap load
    /// behind every rule check.
    async fn conversation_access(&self, id: ConversationId) -> StoreResult<Option<Audience>>;
    /// One conversation without anybody's read state (counts 0): its name and audience.
    async fn conversation_plain(
        &self,
        id: ConversationId,
    ) -> StoreResult<Option<StoredConversation>>;
    async fn conversation_by_slug(
        &self,
        slug: &str,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>>;
}

/// Messages, their histories, and read positions.
#[async_trait::async_trait]
pub trait Messages: Send + Sync + 'static {
    /// Up to `limit` messages with `seq < before` (all when `None`), newest first.
    async fn history(
        &self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// One message as it is now.
    async fn message(&self, id: MessageId) -> StoreResult<Option<Message>>;
    /// Messages matching `filter`, newest first, each with a snippet of its text around
    /// the match ([`SNIPPET_START`] … [`SNIPPET_END`] around matched words). Deleted
    /// messages and earlier versions are never found.
    async fn search(&self, filter: &SearchFilter) -> StoreResult<Vec<(Message, String)>>;
    /// A message's texts, oldest first, the current one last; empty once deleted.
    async fn versions(&self, id: MessageId) -> StoreResult<Vec<MessageVersion>>;
    /// Everyone's read position in a conversation, furthest first.
    async fn readers(&self, conversation: ConversationId) -> StoreResult<Vec<Reader>>;
    /// Up to `limit` messages with `seq > after`, oldest first (filling a gap).
    async fn messages_after(
        &self,
        conversation: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
}

/// The durable event stream.
#[async_trait::async_trait]
pub trait Events: Send + Sync + 'static {
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
}

/// The dashboard's demo orders.
#[async_trait::async_trait]
pub trait Orders: Send + Sync + 'static {
    async fn create_order(&self, order: &Order) -> StoreResult<()>;
    async fn orders(&self) -> StoreResult<Vec<Order>>;
    async fn order(&self, number: i64) -> StoreResult<Option<Order>>;
    /// Every order of a SKU.
    async fn orders_with_sku(&self, sku: &str) -> StoreResult<Vec<Order>>;
    /// A shipment and the orders it carries.
    async fn shipment(&self, reference: &str) -> StoreResult<Option<(Shipment, Vec<Order>)>>;
    async fn create_shipment(&self, shipment: &Shipment, orders: &[i64]) -> StoreResult<()>;
}

/// One-off facts and settings.
#[async_trait::async_trait]
pub trait Settings: Send + Sync + 'static {
    async fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
}

/// Uploaded files (their bytes are in the blob store).
#[async_trait::async_trait]
pub trait Attachments: Send + Sync + 'static {
    async fn insert_attachment(&self, attachment: NewAttachment) -> StoreResult<Attachment>;
    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<StoredAttachment>>;
}

/// The audit log: admin actions, deletes, permission changes.
#[async_trait::async_trait]
pub trait Audit: Send + Sync + 'static {
    /// Records an action without an event of its own (an export, say).
    async fn record_audit(
        &self,
        actor: UserId,
        action: &str,
        conversation: Option<ConversationId>,
        subject: Option<UserId>,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// The newest `limit` entries, newest first.
    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    async fn organisations(&self) -> StoreResult<Vec<Organisation>>;
}

/// The one ordered path for every change that writes an event.
#[async_trait::async_trait]
pub trait Writes: Send + Sync + 'static {
    /// Queues `write` behind every write submitted before it (so one connection's
    /// messages keep their order) and returns without waiting for the commit.
    /// `after_commit` runs right after the commit, in commit order.
    async fn submit(&self, write: Write, after_commit: AfterCommit) -> StoreResult<PendingWrite>;

    /// Writes waiting for the writer (a queue depth for `/metrics`).
    fn queued_writes(&self) -> usize {
        0
    }

    /// Submits `write` and waits for its commit.
    async fn write(&self, write: Write, after_commit: AfterCommit) -> StoreResult<Written> {
        self.submit(write, after_commit).await?.await
    }
}
