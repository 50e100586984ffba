//! Wire types shared by server and browser: users, conversations, messages and the small
//! newtypes that keep their ids apart. Database rows live in the server's `store` and
//! convert into these; nothing here knows about SQL.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user's database id.
    UserId
);
id_type!(
    /// An organisation's database id.
    OrganisationId
);
id_type!(
    /// A conversation's database id.
    ConversationId
);
id_type!(
    /// A message's database id, unique across conversations.
    MessageId
);
id_type!(
    /// An uploaded file's id.
    AttachmentId
);
id_type!(
    /// A position in the server's durable event stream. Ids grow in commit order;
    /// a client resumes "after" the newest one it has.
    EventId
);

/// A message's position in its conversation: 1, 2, 3 … with no gaps.
pub type Seq = i64;

/// The id a client gives a message before sending it; re-sending the same id is safe.
pub type ClientId = uuid::Uuid;

/// What a user may do in general (SPEC.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Internal staff who manage everything.
    Admin,
    /// Internal staff.
    Member,
    /// A user of an outside organisation: client or manufacturer.
    Guest,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Member, Role::Guest];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Guest => "guest",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            "guest" => Some(Role::Guest),
            _ => None,
        }
    }

    /// `roles` without repeats, most powerful first: one order to compare and store.
    pub fn in_order(roles: &[Role]) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| roles.contains(r))
            .collect()
    }

    /// Admins and members are the fulfillment company's own staff.
    pub fn is_internal(self) -> bool {
        !matches!(self, Role::Guest)
    }
}

/// Whether someone is around, across all their tabs and devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// At least one tab is visible and in use.
    Online,
    /// Connected, but every tab is hidden or idle.
    Away,
    /// No connection.
    Offline,
}

impl Presence {
    pub fn label(self) -> &'static str {
        match self {
            Presence::Online => "Online",
            Presence::Away => "Away",
            Presence::Offline => "Offline",
        }
    }
}

/// What one tab says about its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Visible and recently used.
    Active,
    /// Hidden, or idle for the configured time.
    Idle,
}

/// The kinds of conversation of SPEC.md §3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    Channel,
    Direct,
    Group,
    Order,
}

impl ConversationKind {
    pub const ALL: [ConversationKind; 4] = [
        ConversationKind::Channel,
        ConversationKind::Direct,
        ConversationKind::Group,
        ConversationKind::Order,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Channel => "channel",
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
            ConversationKind::Order => "order",
        }
    }

    pub fn parse(s: &str) -> Option<ConversationKind> {
        ConversationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A signed-in user as the rest of the system sees them. No secrets here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organisation_id: OrganisationId,
    pub organisation_name: String,
}

/// Who a conversation admits, which is all the rules need to know about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    pub kind: ConversationKind,
    /// Channel: the organisations it admits. Order thread: the organisations linked to
    /// the order (internal staff are always in). Empty for direct and group.
    pub organisations: Vec<OrganisationId>,
    /// Direct and group: exactly the members. Empty for channels and order threads.
    pub members: Vec<UserId>,
    /// Channel: the roles it admits; someone sees it when both their organisation and
    /// their role are admitted. Empty for the other kinds.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Channel: archived, so read-only (its history stays).
    #[serde(default)]
    pub archived: bool,
}

impl Audience {
    /// A channel admitting these organisations and roles.
    pub fn channel(organisations: Vec<OrganisationId>, roles: Vec<Role>) -> Self {
        Audience {
            kind: ConversationKind::Channel,
            organisations,
            members: vec![],
            roles,
            archived: false,
        }
    }

    /// A thread about an order (or SKU, or shipment) linked to these organisations.
    pub fn order(organisations: Vec<OrganisationId>) -> Self {
        Audience {
            kind: ConversationKind::Order,
            organisations,
            members: vec![],
            roles: vec![],
            archived: false,
        }
    }

    /// A direct or group conversation of exactly these members.
    pub fn members(kind: ConversationKind, members: Vec<UserId>) -> Self {
        Audience {
            kind,
            organisations: vec![],
            members,
            roles: vec![],
            archived: false,
        }
    }
}

/// A conversation as one user sees it in their list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: ConversationId,
    pub kind: ConversationKind,
    /// The URL segment: `/chat/{slug}`.
    pub slug: String,
    /// What this user calls it: `#oracare-team`, the other person's name, `Order 1042`.
    pub title: String,
    /// The newest message's `seq`, 0 when empty.
    pub last_seq: Seq,
    /// The newest `seq` this user has read.
    pub last_read_seq: Seq,
    /// Messages by others after `last_read_seq`.
    pub unread: u32,
    /// Of those, the ones that mention this user (or say `@channel`).
    pub mentions: u32,
    pub audience: Audience,
    /// The newest message, as the list previews it; `None` while there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<LastMessage>,
}

/// The newest message of a conversation, as its entry in the list shows it: who, what in
/// a few plain words, and when.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LastMessage {
    pub seq: Seq,
    pub sender_id: UserId,
    pub sender_name: String,
    /// The text as plain words ([`excerpt`]); empty once deleted.
    pub excerpt: String,
    pub deleted: bool,
    pub created_at_ms: i64,
}

impl LastMessage {
    /// The preview of a message, the same on the server and in the browser.
    pub fn of(message: &Message) -> Self {
        Self::new(
            message.seq,
            message.sender_id,
            message.sender_name.clone(),
            &message.body,
            message.deleted,
            message.created_at_ms,
        )
    }

    pub fn new(
        seq: Seq,
        sender_id: UserId,
        sender_name: String,
        body: &str,
        deleted: bool,
        created_at_ms: i64,
    ) -> Self {
        Self {
            seq,
            sender_id,
            sender_name,
            excerpt: if deleted {
                String::new()
            } else {
                excerpt(body)
            },
            deleted,
            created_at_ms,
        }
    }
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub seq: Seq,
    pub sender_id: UserId,
    pub sender_name: String,
    pub client_id: ClientId,
    /// The current text as its sender wrote it (Markdown source); empty once deleted.
    pub body: String,
    /// Unix time in milliseconds, assigned by the server.
    pub created_at_ms: i64,
    /// 1 as sent; each edit adds one. An edit names the version it replaces.
    #[serde(default = "first_version")]
    pub version: u32,
    /// Deleted: the text is gone, the message keeps its place.
    #[serde(default)]
    pub deleted: bool,
    /// The message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyQuote>,
    /// Reactions, in the order of [`Emoji::ALL`]; only emoji someone chose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// Files attached to it (none once deleted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A file attached to a message, served at [`Attachment::url`] to whoever may see the
/// conversation; an image also has a thumbnail at [`Attachment::thumbnail_url`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Width and height of an image's thumbnail; `None` for other files.
    pub thumbnail: Option<(u32, u32)>,
}

impl Attachment {
    pub fn url(&self) -> String {
        format!("/files/{}", self.id)
    }

    pub fn thumbnail_url(&self) -> Option<String> {
        self.thumbnail
            .map(|_| format!("/files/{}/thumbnail", self.id))
    }
}

fn first_version() -> u32 {
    1
}

impl Message {
    /// A message as it is sent: first version, not deleted, no reactions yet.
    pub fn new(
        id: MessageId,
        conversation_id: ConversationId,
        seq: Seq,
        sender: (UserId, String),
        client_id: ClientId,
        body: String,
        created_at_ms: i64,
    ) -> Self {
        Message {
            id,
            conversation_id,
            seq,
            sender_id: sender.0,
            sender_name: sender.1,
            client_id,
            body,
            created_at_ms,
            version: 1,
            deleted: false,
            reply_to: None,
            reactions: Vec::new(),
            attachments: Vec::new(),
        }
    }

    /// Whether it was changed after it was sent (and not deleted since).
    pub fn edited(&self) -> bool {
        self.version > 1 && !self.deleted
    }

    /// Whether `user` reacted with `emoji`.
    pub fn reacted(&self, user: UserId, emoji: Emoji) -> bool {
        self.reactions
            .iter()
            .any(|r| r.emoji == emoji && r.users.contains(&user))
    }

    /// Who the message mentions now: nobody once it is deleted.
    pub fn mentions(&self) -> Mentions {
        if self.deleted {
            Mentions::default()
        } else {
            Mentions::of(&self.body)
        }
    }
}

/// How a reply shows the message it answers: who wrote it and how it began.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyQuote {
    pub id: MessageId,
    pub seq: Seq,
    pub sender_name: String,
    /// The start of its text (empty when it was deleted since).
    pub excerpt: String,
    pub deleted: bool,
}

/// Characters of a message that a short mention of it shows (a reply's quote, a
/// notification, the conversation list's preview).
pub const REPLY_EXCERPT_CHARS: usize = 90;

/// The start of `body` as plain words (its Markdown read, not shown) for a quote, a
/// notification or a preview: at most [`REPLY_EXCERPT_CHARS`] characters, on one line.
pub fn excerpt(body: &str) -> String {
    crate::markdown::plain_excerpt(body, REPLY_EXCERPT_CHARS)
}

/// The reactions of SPEC.md §9.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Emoji {
    ThumbsUp,
    Heart,
    Laughing,
    Eyes,
    CheckMark,
    Tada,
}

impl Emoji {
    pub const ALL: [Emoji; 6] = [
        Emoji::ThumbsUp,
        Emoji::Heart,
        Emoji::Laughing,
        Emoji::Eyes,
        Emoji::CheckMark,
        Emoji::Tada,
    ];

    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Emoji::ThumbsUp => "thumbs_up",
            Emoji::Heart => "heart",
            Emoji::Laughing => "laughing",
            Emoji::Eyes => "eyes",
            Emoji::CheckMark => "check_mark",
            Emoji::Tada => "tada",
        }
    }

    pub fn parse(s: &str) -> Option<Emoji> {
        Emoji::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// Its accessible name (SPEC.md §9).
    pub fn name(self) -> &'static str {
        match self {
            Emoji::ThumbsUp => "thumbs up",
            Emoji::Heart => "heart",
            Emoji::Laughing => "laughing",
            Emoji::Eyes => "eyes",
            Emoji::CheckMark => "check mark",
            Emoji::Tada => "tada",
        }
    }

    pub fn glyph(self) -> &'static str {
        match self {
            Emoji::ThumbsUp => "👍",
            Emoji::Heart => "❤️",
            Emoji::Laughing => "😆",
            Emoji::Eyes => "👀",
            Emoji::CheckMark => "✅",
            Emoji::Tada => "🎉",
        }
    }
}

/// One emoji under a message and who chose it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: Emoji,
    /// In the order they reacted.
    pub users: Vec<UserId>,
}

/// One text a message had, for its edit history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageVersion {
    pub version: u32,
    pub body: String,
    /// When this text was written (sent, or edited to).
    pub created_at_ms: i64,
}

/// One page of history, newest page first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The page's messages in ascending `seq` order, for display.
    pub messages: Vec<Message>,
    /// Pass as `before` to get the next older page; `None` when this page reaches `seq` 1.
    pub next_before: Option<Seq>,
    /// How far others have read the conversation, furthest first ("seen by").
    pub seen_by: Vec<SeenBy>,
}

/// Someone else's read position in a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenBy {
    pub user_id: UserId,
    pub display_name: String,
    pub seq: Seq,
}

/// An organisation, for the admin's choices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    /// `internal`, `client` or `manufacturer`.
    pub kind: String,
}

/// One line of the audit log: who did what to what, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub actor: String,
    /// `message_deleted`, `channel_created`, `conversation_exported` …
    pub action: String,
    /// The conversation it concerned, by its slug, when it still exists.
    pub conversation: Option<String>,
    /// The message it concerned.
    pub message_id: Option<MessageId>,
    /// Whom it concerned (a deleted message's author), by display name.
    pub subject: Option<String>,
}

/// A password made for someone by an admin, shown once: its first use must choose another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedPassword {
    pub user: User,
    pub password: String,
}

/// What a personal access token lets its holder do through the REST API, on top of what
/// the rules let its owner do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// List conversations, read history.
    Read,
    /// Post messages, open threads (and read).
    Write,
}

/// Tokens one person may hold at once (revoked ones do not count).
pub const MAX_API_TOKENS: usize = 20;

/// A personal access token as its owner sees it listed (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    pub created_at_ms: i64,
    /// `None` while it works.
    pub revoked_at_ms: Option<i64>,
}

/// A token just made: the secret is shown this once and never again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// Whether someone is emailed about mentions and direct messages they leave unread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPreferences {
    /// Where emails go; `None` when Parley has no address for them.
    pub email: Option<String>,
    pub enabled: bool,
}

/// What `/admin` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub users: Vec<User>,
    pub organisations: Vec<Organisation>,
    /// The newest entries first.
    pub audit: Vec<AuditEntry>,
    /// The settings as they are, and what they may be set to.
    pub settings: AdminSettings,
    pub bounds: SettingsBounds,
    /// Accounts that are disabled.
    pub disabled: Vec<UserId>,
    /// How browsers carry the live connection.
    pub connection_mode: ConnectionMode,
}

/// What an admin sets at `/admin` (besides the connection mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSettings {
    /// How long after sending its author may edit a message, in seconds (0: never).
    pub edit_window_secs: i64,
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// Largest attachment, in bytes.
    pub max_attachment_bytes: u64,
    /// The file types attachments may have (MIME types); none turns attachments off.
    pub attachment_types: Vec<String>,
    /// Messages older than this many days are deleted for good, with their files;
    /// `None` keeps everything.
    #[serde(default)]
    pub retention_days: Option<u32>,
}

/// The limits the operator configured: an admin chooses within them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsBounds {
    pub max_edit_window_secs: i64,
    pub max_message_chars: usize,
    pub max_attachment_bytes: u64,
    pub attachment_types: Vec<String>,
}

/// Checks a new channel's name: 1–80 lower-case letters, digits and hyphens (it is also
/// its address, `/chat/{name}`), without a leading `#`.
pub fn validate_channel_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim().trim_start_matches('#').to_lowercase();
    let ok = (1..=80).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    // Those are the pages of direct messages, groups and threads.
    let reserved = ["dm-", "group-", "order-", "sku-", "shipment-"]
        .iter()
        .any(|prefix| name.starts_with(prefix));
    if reserved {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "A channel name may not start with dm-, group-, order-, sku- or shipment-.",
        ));
    }
    if ok {
        Ok(name)
    } else {
        Err(ApiError::new(
            ErrorCode::BadRequest,
            "A channel name has 1 to 80 lower-case letters, digits and hyphens.",
        ))
    }
}

/// What a channel called `name` is listed as: `#name`.
pub fn channel_title(name: &str) -> String {
    format!("#{name}")
}

/// What an admin chooses about a channel: its name, whom it admits (someone of one of
/// the organisations with one of the roles), and whether it is archived (read-only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSettings {
    pub name: String,
    pub organisations: Vec<OrganisationId>,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub archived: bool,
}

/// Someone a user may start a direct message with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: UserId,
    pub display_name: String,
    pub organisation_name: String,
}

/// A demo order on the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub number: i64,
    pub customer: String,
    pub sku: String,
    pub quantity: i64,
    pub status: String,
    /// Organisations linked to the order: its client, sometimes its manufacturer.
    pub organisations: Vec<OrganisationId>,
    pub organisation_names: Vec<String>,
    /// The shipment carrying it, once it has one.
    #[serde(default)]
    pub shipment: Option<String>,
}

/// A demo shipment on the dashboard: one or more orders under one tracking reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub reference: String,
    pub carrier: String,
    pub status: String,
}

/// What a thread about the host dashboard's things is about: an order, a SKU or a
/// shipment. Written `order:1042`, `sku:ORA-TB-SOFT`, `shipment:1Z4F7A` (the external
/// reference, unique per thread); its page is `/chat/order-1042` and so on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ThreadRef {
    Order(i64),
    Sku(String),
    Shipment(String),
}

impl ThreadRef {
    /// Reads `order:1042`, `sku:…` or `shipment:…`. SKUs and shipment references are 1
    /// to 64 letters, digits, dots, hyphens and underscores.
    pub fn parse(reference: &str) -> Result<ThreadRef, ApiError> {
        let bad = || {
            ApiError::new(
                ErrorCode::BadRequest,
                "A thread reference is order:{number}, sku:{code} or shipment:{reference}.",
            )
        };
        let (kind, value) = reference.trim().split_once(':').ok_or_else(bad)?;
        let code_ok = (1..=64).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        match kind {
            "order" => value
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(ThreadRef::Order)
                .ok_or_else(bad),
            "sku" if code_ok => Ok(ThreadRef::Sku(value.to_string())),
            "shipment" if code_ok => Ok(ThreadRef::Shipment(value.to_string())),
            _ => Err(bad()),
        }
    }

    /// The thread's `/chat/{slug}`, from which the reference can be read back.
    pub fn slug(&self) -> String {
        match self {
            ThreadRef::Order(n) => format!("order-{n}"),
            ThreadRef::Sku(code) => format!("sku-{code}"),
            ThreadRef::Shipment(reference) => format!("shipment-{reference}"),
        }
    }

    pub fn from_slug(slug: &str) -> Option<ThreadRef> {
        let (kind, value) = slug.split_once('-')?;
        ThreadRef::parse(&format!("{kind}:{value}")).ok()
    }

    /// Its name in lists: "Order 1042", "SKU ORA-TB-SOFT", "Shipment 1Z4F7A".
    pub fn title(&self) -> String {
        match self {
            ThreadRef::Order(n) => format!("Order {n}"),
            ThreadRef::Sku(code) => format!("SKU {code}"),
            ThreadRef::Shipment(reference) => format!("Shipment {reference}"),
        }
    }

    /// The number, code or reference alone.
    pub fn value(&self) -> String {
        match self {
            ThreadRef::Order(n) => n.to_string(),
            ThreadRef::Sku(v) | ThreadRef::Shipment(v) => v.clone(),
        }
    }
}

impl std::fmt::Display for ThreadRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ThreadRef::Order(n) => write!(f, "order:{n}"),
            ThreadRef::Sku(code) => write!(f, "sku:{code}"),
            ThreadRef::Shipment(reference) => write!(f, "shipment:{reference}"),
        }
    }
}

/// What a thread is about, as the person asking may see it: the orders concerned and,
/// for a shipment thread, the shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadSubject {
    pub reference: ThreadRef,
    pub orders: Vec<Order>,
    pub shipment: Option<Shipment>,
}

/// What the browser needs for its first paint: who is signed in, their conversations,
/// and where in the event stream this picture was taken (the live connection resumes
/// after it, so nothing between the two is lost).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bootstrap {
    pub me: User,
    /// Their theme, kept on the server so every page and device starts in it.
    pub theme: Theme,
    /// The conversations they muted (no notifications, not in the badge's count).
    pub muted: Vec<ConversationId>,
    pub conversations: Vec<ConversationSummary>,
    pub last_event_id: EventId,
    pub settings: ClientSettings,
}

/// A person's theme: follow the system's light or dark, or always one of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(s: &str) -> Option<Theme> {
        [Theme::System, Theme::Light, Theme::Dark]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    /// What the "Theme" button switches to: system → light → dark → system.
    pub fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }
}

/// How the live connection is carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionMode {
    /// WebSocket, falling back to Server-Sent Events when it cannot open.
    Auto,
    WebSocket,
    /// Server-Sent Events plus HTTP POST, for networks that block WebSockets.
    Sse,
}

impl ConnectionMode {
    pub const ALL: [ConnectionMode; 3] = [
        ConnectionMode::Auto,
        ConnectionMode::WebSocket,
        ConnectionMode::Sse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionMode::Auto => "auto",
            ConnectionMode::WebSocket => "websocket",
            ConnectionMode::Sse => "sse",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectionMode> {
        ConnectionMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Settings the browser acts on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSettings {
    pub connection_mode: ConnectionMode,
    /// After this long without input a tab counts as idle.
    pub idle_after_ms: u32,
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// How long after sending its author may edit a message, in milliseconds.
    pub edit_window_ms: i64,
    /// Largest attachment, in bytes.
    pub max_attachment_bytes: u64,
    /// The file types attachments may have (MIME types).
    pub attachment_types: Vec<String>,
}

/// Who a message mentions: `@username` (any case) and `@channel` / `@everyone`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mentions {
    /// Lower-cased usernames, each once.
    pub usernames: Vec<String>,
    pub everyone: bool,
}

impl Mentions {
    pub fn of(body: &str) -> Self {
        let mut found = Mentions::default();
        let mut rest = body;
        while let Some(at) = rest.find('@') {
            // An @ inside a word (an e-mail address) is not a mention.
            let before = rest[..at].chars().next_back();
            let after = &rest[at + 1..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .collect();
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if !before.is_some_and(|c| c.is_alphanumeric()) && !name.is_empty() {
                if name == "channel" || name == "everyone" {
                    found.everyone = true;
                } else if !found.usernames.contains(&name) {
                    found.usernames.push(name);
                }
            }
            rest = after;
        }
        found
    }

    /// Whether `username` is among them (or everyone is).
    pub fn include(&self, username: &str) -> bool {
        self.everyone
            || self
                .usernames
                .iter()
                .any(|u| u.eq_ignore_ascii_case(username))
    }
}

/// The `@…` being typed just before `caret` (a byte index into `text`), if any: where
/// its `@` is, and what follows it so far. Drives the composer's mention list.
pub fn mention_at(text: &str, caret: usize) -> Option<(usize, &str)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let typed = &before[at + 1..];
    let starts_word = before[..at]
        .chars()
        .next_back()
        .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '"' | '\''));
    let name_chars = typed
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (starts_word && name_chars && typed.len() <= 64).then_some((at, typed))
}

/// Whether `c` shows on screen: not whitespace, not a control character, and not one of
/// the invisible format characters (zero-width spaces and joiners, bidi controls, the
/// soft hyphen, variation selectors, the braille blank, Hangul fillers, tags).
pub fn is_visible(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        ))
}

/// Whether `text` shows anything at all (see [`is_visible`]): the one definition of
/// "visible text", for message bodies and names alike.
pub fn has_visible_text(text: &str) -> bool {
    text.chars().any(is_visible)
}

/// The most characters a person's display name may have.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Whether `name` (already trimmed) may be a person's display name: 1 to
/// [`MAX_DISPLAY_NAME_CHARS`] characters, some of them visible. For accounts an admin
/// makes and for those a dashboard's sign-in token makes alike.
pub fn is_display_name(name: &str) -> bool {
    (1..=MAX_DISPLAY_NAME_CHARS).contains(&name.chars().count()) && has_visible_text(name)
}

/// Whether `s` is a CSS hex colour, `#rgb` or `#rrggbb` (a host's accent colour).
pub fn is_hex_colour(s: &str) -> bool {
    matches!(s.len(), 4 | 7) && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// The text colour that reads best on a hex colour (WCAG relative luminance): near-black
/// or white. For a host's accent colour, whatever it is.
pub fn text_on(hex: &str) -> &'static str {
    if !is_hex_colour(hex) {
        return "#ffffff";
    }
    let digits: Vec<u8> = hex[1..]
        .chars()
        .map(|c| c.to_digit(16).unwrap_or(0) as u8)
        .collect();
    let channel = |i: usize| -> f64 {
        let v = if digits.len() == 3 {
            digits[i] * 17
        } else {
            digits[2 * i] * 16 + digits[2 * i + 1]
        };
        let c = f64::from(v) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
    // Contrast with white (1.05 / (L + 0.05)) against with #10121a (~0.006 luminance).
    if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.056 {
        "#ffffff"
    } else {
        "#10121a"
    }
}

/// Default upper bound on a message's length, in characters.
pub const DEFAULT_MAX_MESSAGE_CHARS: usize = 4_000;

/// Checks a message body: not blank (nothing [`is_visible`]), no NUL character (nobody
/// types one, and the database's text functions stop at it), at most `max_chars`
/// characters. Returns it unchanged but for trailing whitespace, which carries no meaning.
pub fn validate_body(body: &str, max_chars: usize) -> Result<String, ApiError> {
    let trimmed = body.trim_end();
    if trimmed.contains('\0') {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "A message may not contain the NUL character.",
        ));
    }
    if !has_visible_text(trimmed) {
        return Err(ApiError::new(
            ErrorCode::EmptyMessage,
            "A message needs some text.",
        ));
    }
    let chars = trimmed.chars().count();
    if chars > max_chars {
        return Err(ApiError::new(
            ErrorCode::MessageTooLong,
            format!("A message may have at most {max_chars} characters; this one has {chars}."),
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_display_name_has_1_to_100_characters_some_visible() {
        use super::is_display_name;
        assert!(is_display_name("Erin Ellis"));
        assert!(is_display_name(&"é".repeat(100)));
        assert!(!is_display_name(&"e".repeat(101)));
        assert!(!is_display_name(""));
        assert!(!is_display_name("\u{200B}\u{202E}\u{2800}"));
    }

    #[test]
    fn visible_text_is_text_that_shows() {
        use super::has_visible_text;
        for blank in [
            "",
            " \n\t",
            "\u{0}",
            "\u{200b}\u{200d}",
            "\u{202e}\u{202d}",
            "\u{ad}",
            "\u{2800}",
            "\u{1b}\u{7f}",
            "\u{feff}",
            "\u{3164}",
        ] {
            assert!(!has_visible_text(blank), "{blank:?}");
        }
        for text in ["a", " x ", "\u{200b}ok", "👍", "日本", "\u{2801}"] {
            assert!(has_visible_text(text), "{text:?}");
        }
        assert!(super::is_hex_colour("#0a7") && super::is_hex_colour("#00AA77"));
        assert_eq!(super::text_on("#0a7d62"), "#ffffff");
        assert_eq!(super::text_on("#ffd60a"), "#10121a");
        assert_eq!(super::text_on("#000"), "#ffffff");
        for bad in ["0a7", "#0a", "#00aa7g", "red", "#00aa77;x"] {
            assert!(!super::is_hex_colour(bad), "{bad}");
        }
    }

    #[test]
    fn thread_references_read_back_from_their_slugs() {
        for (text, slug, title) in [
            ("order:1042", "order-1042", "Order 1042"),
            ("sku:ORA-TB-SOFT", "sku-ORA-TB-SOFT", "SKU ORA-TB-SOFT"),
            (
                "shipment:1Z4F.7A_9",
                "shipment-1Z4F.7A_9",
                "Shipment 1Z4F.7A_9",
            ),
        ] {
            let reference = ThreadRef::parse(text).unwrap();
            assert_eq!(reference.to_string(), text);
            assert_eq!(reference.slug(), slug);
            assert_eq!(reference.title(), title);
            assert_eq!(ThreadRef::from_slug(slug), Some(reference));
        }
        for bad in [
            "order:0",
            "order:x",
            "sku:",
            "sku:a b",
            "shipment:<x>",
            "invoice:1",
            "1042",
        ] {
            assert!(ThreadRef::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ThreadRef::from_slug("dm-1-2"), None);
        assert_eq!(ThreadRef::from_slug("oracare-team"), None);
    }
    use super::*;

    #[test]
    fn blank_bodies_are_empty_messages() {
        // Whitespace, zero-width space, soft hyphen, braille blank, bidi overrides,
        // control characters: nothing shows.
        for body in [
            "",
            " ",
            "\n\t  \n",
            "\u{200B}\u{00AD}",
            "\u{2800}\u{202E}\u{202C}",
            "\u{7}\u{1b}",
        ] {
            assert_eq!(
                validate_body(body, 10).unwrap_err().code,
                ErrorCode::EmptyMessage
            );
        }
    }

    #[test]
    fn a_nul_character_is_refused_by_name() {
        for body in ["\0", "\0visible", "visible\0"] {
            let error = validate_body(body, 100).unwrap_err();
            assert_eq!(error.code, ErrorCode::BadRequest, "{body:?}");
            assert!(error.message.contains("NUL"));
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(validate_body("ééééé", 5).unwrap(), "ééééé");
        assert_eq!(
            validate_body("éééééé", 5).unwrap_err().code,
            ErrorCode::MessageTooLong
        );
    }

    #[test]
    fn leading_whitespace_is_kept_trailing_dropped() {
        assert_eq!(validate_body("  indented\n\n", 100).unwrap(), "  indented");
    }

    #[test]
    fn mentions_are_usernames_and_channel() {
        let m =
            Mentions::of("@Carol can you ask @bob? cc @channel, not me@example.com. @bob again");
        assert_eq!(m.usernames, ["carol", "bob"]);
        assert!(m.everyone);
        assert!(m.include("BOB"));
        let none = Mentions::of("email me@example.com or write @ noon");
        assert_eq!(none, Mentions::default());
        assert!(!none.include("me"));
        assert_eq!(Mentions::of("thanks @dave.").usernames, ["dave"]);
    }

    #[test]
    fn the_mention_being_typed_is_found_before_the_caret() {
        assert_eq!(mention_at("hi @ca", 6), Some((3, "ca")));
        assert_eq!(mention_at("@", 1), Some((0, "")));
        assert_eq!(mention_at("hi @carol and more", 9), Some((3, "carol")));
        assert_eq!(
            mention_at("hi @carol and more", 18),
            None,
            "a space ends it"
        );
        assert_eq!(mention_at("mail me@example", 15), None, "inside a word");
        assert_eq!(mention_at("hé @bo", "hé @bo".len()), Some((4, "bo")));
        assert_eq!(mention_at("abc", 99), None);
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("two\n  lines"), "two lines");
        let long = "word ".repeat(40);
        let cut = excerpt(&long);
        assert!(cut.chars().count() <= REPLY_EXCERPT_CHARS && cut.ends_with('…'));
    }

    #[test]
    fn channel_names_are_their_addresses() {
        assert_eq!(
            validate_channel_name(" #Night-Shift ").unwrap(),
            "night-shift"
        );
        for bad in ["", "#", "two words", "-lead", "ünïcode", &"x".repeat(81)] {
            assert_eq!(
                validate_channel_name(bad).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn ids_serialize_as_plain_numbers() {
        assert_eq!(serde_json::to_string(&ConversationId(7)).unwrap(), "7");
    }
}
