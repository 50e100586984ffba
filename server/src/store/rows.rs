//! Turning rows into `app` types, shared by both engines (sqlx's SQLite and PostgreSQL
//! rows) and the SQLite writer thread's rusqlite connection: the column lists are one
//! text, and every row kind fills the same plain [`MessageRow`] before it becomes a
//! [`Message`].

use std::collections::HashMap;

use sqlx::{ColumnIndex, Decode, Row, Type};

use app::model::{
    ApiScope, Attachment, AttachmentId, ConversationId, Emoji, Message, MessageId, OrganisationId,
    Reaction, ReplyQuote, Role, User, UserId, excerpt,
};

use crate::store::{StoreError, StoreResult};

pub(crate) const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.organisation_id, \
     o.name AS organisation_name FROM users u JOIN organisations o ON o.id = u.organisation_id";

pub(crate) fn user_from_row<'r, R: Row>(row: &'r R) -> StoreResult<User>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
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

/// The columns of a message, its sender's name and the message it replies to, in the
/// order [`MessageRow`] reads them. Follow with a `FROM` that names `m`, `u`, `r`, `ru`.
pub(crate) const MESSAGE_SELECT: &str = "m.id, m.conversation_id, m.seq, m.sender_id, \
     CAST(m.client_id AS TEXT) AS client_id, \
     m.body, m.created_at_ms, m.version, m.deleted_at_ms IS NOT NULL AS deleted, \
     u.display_name AS sender_name, m.reply_to, r.seq AS reply_seq, r.body AS reply_body, \
     r.deleted_at_ms IS NOT NULL AS reply_deleted, ru.display_name AS reply_sender";

/// The joins [`MESSAGE_SELECT`] needs, after `FROM messages m`.
pub(crate) const MESSAGE_JOINS: &str = "JOIN users u ON u.id = m.sender_id \
     LEFT JOIN messages r ON r.id = m.reply_to LEFT JOIN users ru ON ru.id = r.sender_id";

/// One message row, whichever driver read it.
pub(crate) struct MessageRow {
    pub id: i64,
    pub conversation_id: i64,
    pub seq: i64,
    pub sender_id: i64,
    pub client_id: String,
    pub body: String,
    pub created_at_ms: i64,
    pub version: i64,
    pub deleted: bool,
    pub sender_name: String,
    pub reply_to: Option<i64>,
    pub reply_seq: Option<i64>,
    pub reply_body: Option<String>,
    pub reply_deleted: Option<bool>,
    pub reply_sender: Option<String>,
}

impl MessageRow {
    pub fn from_sqlx<'r, R: Row>(row: &'r R) -> StoreResult<Self>
    where
        &'static str: ColumnIndex<R>,
        i64: Decode<'r, R::Database> + Type<R::Database>,
        bool: Decode<'r, R::Database> + Type<R::Database>,
        String: Decode<'r, R::Database> + Type<R::Database>,
    {
        Ok(Self {
            id: row.try_get("id")?,
            conversation_id: row.try_get("conversation_id")?,
            seq: row.try_get("seq")?,
            sender_id: row.try_get("sender_id")?,
            client_id: row.try_get("client_id")?,
            body: row.try_get("body")?,
            created_at_ms: row.try_get("created_at_ms")?,
            version: row.try_get("version")?,
            deleted: row.try_get("deleted")?,
            sender_name: row.try_get("sender_name")?,
            reply_to: row.try_get("reply_to")?,
            reply_seq: row.try_get("reply_seq")?,
            reply_body: row.try_get("reply_body")?,
            reply_deleted: row.try_get("reply_deleted")?,
            reply_sender: row.try_get("reply_sender")?,
        })
    }

    /// Reads the columns of [`MESSAGE_SELECT`] starting at index `at`.
    pub fn from_rusqlite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(at)?,
            conversation_id: row.get(at + 1)?,
            seq: row.get(at + 2)?,
            sender_id: row.get(at + 3)?,
            client_id: row.get(at + 4)?,
            body: row.get(at + 5)?,
            created_at_ms: row.get(at + 6)?,
            version: row.get(at + 7)?,
            deleted: row.get(at + 8)?,
            sender_name: row.get(at + 9)?,
            reply_to: row.get(at + 10)?,
            reply_seq: row.get(at + 11)?,
            reply_body: row.get(at + 12)?,
            reply_deleted: row.get(at + 13)?,
            reply_sender: row.get(at + 14)?,
        })
    }

    pub fn into_message(
        self,
        reactions: Vec<Reaction>,
        attachments: Vec<Attachment>,
    ) -> StoreResult<Message> {
        let client_id = self
            .client_id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("client id {}", self.client_id)))?;
        let reply_to = match (self.reply_to, self.reply_seq, self.reply_sender) {
            (Some(id), Some(seq), Some(sender_name)) => {
                let deleted = self.reply_deleted.unwrap_or(false);
                Some(ReplyQuote {
                    id: MessageId(id),
                    seq,
                    sender_name,
                    excerpt: if deleted {
                        String::new()
                    } else {
                        excerpt(self.reply_body.as_deref().unwrap_or_default())
                    },
                    deleted,
                })
            }
            _ => None,
        };
        Ok(Message {
            id: MessageId(self.id),
            conversation_id: ConversationId(self.conversation_id),
            seq: self.seq,
            sender_id: UserId(self.sender_id),
            sender_name: self.sender_name,
            client_id,
            body: self.body,
            created_at_ms: self.created_at_ms,
            version: u32::try_from(self.version).unwrap_or(1),
            deleted: self.deleted,
            reply_to,
            reactions,
            attachments,
        })
    }
}

/// Reactions of several messages, from `(message_id, emoji, user_id)` rows in the order
/// they were made; each message's in the order of [`Emoji::ALL`].
pub(crate) fn group_reactions(
    rows: impl IntoIterator<Item = (i64, String, i64)>,
) -> StoreResult<HashMap<i64, Vec<Reaction>>> {
    let mut by_message: HashMap<i64, Vec<Reaction>> = HashMap::new();
    for (message, emoji, user) in rows {
        let emoji =
            Emoji::parse(&emoji).ok_or_else(|| StoreError::Corrupt(format!("emoji {emoji}")))?;
        let reactions = by_message.entry(message).or_default();
        match reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) => r.users.push(UserId(user)),
            None => reactions.push(Reaction {
                emoji,
                users: vec![UserId(user)],
            }),
        }
    }
    for reactions in by_message.values_mut() {
        reactions.sort_by_key(|r| r.emoji);
    }
    Ok(by_message)
}

/// The query for the reactions of the messages in `ids` (a comma-separated list of
/// numbers, never user input).
pub(crate) fn reactions_sql(ids: &str) -> String {
    format!(
        "SELECT message_id, emoji, user_id FROM reactions WHERE message_id IN ({ids}) \
         ORDER BY created_at_ms, user_id"
    )
}

/// The columns of an attachment, in the order [`attachment_from`] reads them.
pub(crate) const ATTACHMENT_COLUMNS: &str =
    "a.id, a.name, a.content_type, a.size, a.width, a.height, a.message_id";

/// An attachment from its columns (as [`ATTACHMENT_COLUMNS`] lists them).
pub(crate) fn attachment_from(
    id: i64,
    name: String,
    content_type: String,
    size: i64,
    width: Option<i64>,
    height: Option<i64>,
) -> Attachment {
    Attachment {
        id: AttachmentId(id),
        name,
        content_type,
        size: u64::try_from(size).unwrap_or_default(),
        thumbnail: width.zip(height).map(|(w, h)| {
            (
                u32::try_from(w).unwrap_or_default(),
                u32::try_from(h).unwrap_or_default(),
            )
        }),
    }
}

/// An attachment from a sqlx row holding [`ATTACHMENT_COLUMNS`].
pub(crate) fn attachment_from_sqlx<'r, R: Row>(row: &'r R) -> StoreResult<Attachment>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(attachment_from(
        row.try_get("id")?,
        row.try_get("name")?,
        row.try_get("content_type")?,
        row.try_get("size")?,
        row.try_get("width")?,
        row.try_get("height")?,
    ))
}

/// The query for the attachments of the messages in `ids` (numbers, never user input).
pub(crate) fn attachments_sql(ids: &str) -> String {
    format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments a WHERE a.message_id IN ({ids}) ORDER BY a.id"
    )
}

/// `1,2,3` for an `IN (…)` list of ids.
pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Scopes as the `scopes` column spells them (its CHECK lists the two).
pub(crate) fn scopes_column(scopes: &[ApiScope]) -> &'static str {
    if scopes.contains(&ApiScope::Write) {
        "read write"
    } else {
        "read"
    }
}

pub(crate) fn scopes_from(column: &str) -> StoreResult<Vec<ApiScope>> {
    match column {
        "read" => Ok(vec![ApiScope::Read]),
        "read write" => Ok(vec![ApiScope::Read, ApiScope::Write]),
        other => Err(StoreError::Corrupt(format!(
            "unknown token scopes {other:?}"
        ))),
    }
}

/// A personal access token from `id, name, scopes, created_at_ms, revoked_at_ms`.
pub(crate) fn api_token_from_row<'r, R: Row>(row: &'r R) -> StoreResult<app::model::ApiToken>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(app::model::ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scopes: scopes_from(row.try_get("scopes")?)?,
        created_at_ms: row.try_get("created_at_ms")?,
        revoked_at_ms: row.try_get("revoked_at_ms")?,
    })
}

/// An audit entry from `created_at_ms, actor, action, slug, message_id, subject`.
pub(crate) fn audit_entry_from_row<'r, R: Row>(row: &'r R) -> StoreResult<app::model::AuditEntry>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(app::model::AuditEntry {
        at_ms: row.try_get("created_at_ms")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        conversation: row.try_get("slug")?,
        message_id: row.try_get::<Option<i64>, _>("message_id")?.map(MessageId),
        subject: row.try_get("subject")?,
    })
}

/// An organisation from `id, name, kind`.
pub(crate) fn organisation_from_row<'r, R: Row>(row: &'r R) -> StoreResult<app::model::Organisation>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(app::model::Organisation {
        id: OrganisationId(row.try_get("id")?),
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
    })
}

/// An email candidate from the columns `email_candidates` selects.
pub(crate) fn email_candidate_from_row<'r, R: Row>(
    row: &'r R,
) -> StoreResult<crate::store::EmailCandidate>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let kind: String = row.try_get("kind")?;
    Ok(crate::store::EmailCandidate {
        user: UserId(row.try_get("user_id")?),
        email: row.try_get("email")?,
        conversation: ConversationId(row.try_get("conversation_id")?),
        kind: app::model::ConversationKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("conversation kind {kind}")))?,
        slug: row.try_get("slug")?,
        conversation_name: row.try_get("name")?,
        seq: row.try_get("seq")?,
        sender_name: row.try_get("sender_name")?,
        body: row.try_get("body")?,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

/// A stored attachment from [`ATTACHMENT_COLUMNS`] and `conversation_id, uploader_id,
/// hash, thumb_hash`.
pub(crate) fn stored_attachment_from_row<'r, R: Row>(
    row: &'r R,
) -> StoreResult<crate::store::StoredAttachment>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(crate::store::StoredAttachment {
        attachment: attachment_from_sqlx(row)?,
        conversation_id: ConversationId(row.try_get("conversation_id")?),
        uploader_id: UserId(row.try_get("uploader_id")?),
        message_id: row.try_get::<Option<i64>, _>("message_id")?.map(MessageId),
        hash: row.try_get("hash")?,
        thumb_hash: row.try_get("thumb_hash")?,
    })
}

/// Orders from rows of `number, customer, sku, quantity, status, shipment` and their
/// organisations as `(order number, organisation id, name)`.
pub(crate) fn orders_from_rows<'r, R: Row>(
    rows: &'r [R],
    links: impl IntoIterator<Item = (i64, i64, String)>,
) -> StoreResult<Vec<app::model::Order>>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut linked: HashMap<i64, Vec<(OrganisationId, String)>> = HashMap::new();
    for (number, id, name) in links {
        linked
            .entry(number)
            .or_default()
            .push((OrganisationId(id), name));
    }
    rows.iter()
        .map(|row| {
            let number: i64 = row.try_get("number")?;
            let organisations = linked.remove(&number).unwrap_or_default();
            Ok(app::model::Order {
                number,
                customer: row.try_get("customer")?,
                sku: row.try_get("sku")?,
                quantity: row.try_get("quantity")?,
                status: row.try_get("status")?,
                organisations: organisations.iter().map(|(id, _)| *id).collect(),
                organisation_names: organisations.into_iter().map(|(_, name)| name).collect(),
                shipment: row.try_get("shipment")?,
            })
        })
        .collect()
}

/// The query for the organisations of the orders in `numbers` (never user input), as
/// [`orders_from_rows`] takes them.
pub(crate) fn order_links_sql(numbers: &str) -> String {
    format!(
        "SELECT l.order_number, o.id, o.name FROM order_organisations l \
         JOIN organisations o ON o.id = l.organisation_id \
         WHERE l.order_number IN ({numbers}) ORDER BY o.id"
    )
}

/// An SQL condition true when `viewer` may see the conversation with id `column` (the
/// rules of `app::rules::can_see`, in SQL). Only numbers and a role name are written
/// into it.
pub(crate) fn visible_condition(viewer: &app::rules::Actor, column: &str) -> String {
    let (user, org, role) = (viewer.id.0, viewer.organisation_id.0, viewer.role.as_str());
    // TRUE and FALSE: booleans in PostgreSQL, 1 and 0 in SQLite.
    let admin = if viewer.role == Role::Admin {
        "TRUE"
    } else {
        "FALSE"
    };
    let internal = if viewer.role.is_internal() {
        "TRUE"
    } else {
        "FALSE"
    };
    format!(
        "EXISTS (SELECT 1 FROM conversations vc WHERE vc.id = {column} AND CASE vc.kind \
           WHEN 'channel' THEN {admin} OR (\
             EXISTS (SELECT 1 FROM conversation_organisations vo \
                     WHERE vo.conversation_id = vc.id AND vo.organisation_id = {org}) \
             AND EXISTS (SELECT 1 FROM conversation_roles vr \
                     WHERE vr.conversation_id = vc.id AND vr.role = '{role}')) \
           WHEN 'order' THEN {internal} OR EXISTS (SELECT 1 FROM conversation_organisations vo \
                     WHERE vo.conversation_id = vc.id AND vo.organisation_id = {org}) \
           ELSE EXISTS (SELECT 1 FROM conversation_members vm \
                     WHERE vm.conversation_id = vc.id AND vm.user_id = {user}) END)"
    )
}

/// What a conversation listing needs besides its own rows, by conversation id: the
/// organisations and roles it admits, its members, and its newest message.
pub(crate) struct ConversationParts {
    /// `(conversation, organisation)`
    pub organisations: Vec<(i64, i64)>,
    /// `(conversation, role)`
    pub roles: Vec<(i64, String)>,
    /// `(conversation, user, display name)`
    pub members: Vec<(i64, i64, String)>,
    /// `(conversation, seq, sender, sender's name, body, deleted, created_at_ms)`
    pub newest: Vec<(i64, i64, i64, String, String, bool, i64)>,
}

/// The four queries of [`ConversationParts`], for the conversations in `ids` (numbers,
/// never user input); the same SQL on both engines.
pub(crate) fn conversation_parts_sql(ids: &str) -> [String; 4] {
    [
        format!(
            "SELECT conversation_id, organisation_id FROM conversation_organisations \
             WHERE conversation_id IN ({ids}) ORDER BY organisation_id"
        ),
        format!(
            "SELECT conversation_id, role FROM conversation_roles WHERE conversation_id IN ({ids})"
        ),
        format!(
            "SELECT cm.conversation_id, u.id, u.display_name FROM conversation_members cm \
             JOIN users u ON u.id = cm.user_id WHERE cm.conversation_id IN ({ids}) ORDER BY u.id"
        ),
        // Each newest message found through its (conversation, seq) key.
        format!(
            "SELECT m.conversation_id, m.seq, m.sender_id, u.display_name, m.body, \
                    m.deleted_at_ms IS NOT NULL AS deleted, m.created_at_ms \
             FROM conversations c JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq \
             JOIN users u ON u.id = m.sender_id WHERE c.id IN ({ids})"
        ),
    ]
}

/// Conversations from rows of `id, kind, slug, name, named, last_seq, archived,
/// last_read_seq, unread, mentions` and their [`ConversationParts`].
pub(crate) fn conversations_from_rows<'r, R: Row>(
    rows: &'r [R],
    parts: ConversationParts,
) -> StoreResult<Vec<crate::store::StoredConversation>>
where
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    use app::model::{Audience, ConversationKind, LastMessage};
    let mut organisations: HashMap<i64, Vec<OrganisationId>> = HashMap::new();
    for (conversation, organisation) in parts.organisations {
        organisations
            .entry(conversation)
            .or_default()
            .push(OrganisationId(organisation));
    }
    let mut roles: HashMap<i64, Vec<Role>> = HashMap::new();
    for (conversation, role) in parts.roles {
        roles
            .entry(conversation)
            .or_default()
            .push(Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?);
    }
    for admitted in roles.values_mut() {
        admitted.sort_by_key(|r| Role::ALL.iter().position(|a| a == r));
    }
    let mut members: HashMap<i64, Vec<(UserId, String)>> = HashMap::new();
    for (conversation, user, name) in parts.members {
        members
            .entry(conversation)
            .or_default()
            .push((UserId(user), name));
    }
    let mut newest: HashMap<i64, LastMessage> = HashMap::new();
    for (conversation, seq, sender, sender_name, body, deleted, created_at_ms) in parts.newest {
        newest.insert(
            conversation,
            LastMessage::new(
                seq,
                UserId(sender),
                sender_name,
                &body,
                deleted,
                created_at_ms,
            ),
        );
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
            Ok(crate::store::StoredConversation {
                id: ConversationId(id),
                kind,
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
                named: row.try_get("named")?,
                last_seq: row.try_get("last_seq")?,
                audience: Audience {
                    kind,
                    organisations: organisations.remove(&id).unwrap_or_default(),
                    members: member_names.iter().map(|(id, _)| *id).collect(),
                    roles: roles.remove(&id).unwrap_or_default(),
                    archived: row.try_get("archived")?,
                },
                member_names,
                last_read_seq: row.try_get("last_read_seq")?,
                unread: u32::try_from(unread).unwrap_or(u32::MAX),
                mentions: u32::try_from(mentions).unwrap_or(u32::MAX),
                last_message: newest.remove(&id),
            })
        })
        .collect()
}
