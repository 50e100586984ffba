//! Channels: created by an admin, then renamed, archived or opened to other
//! organisations and roles. Each is one event and one audit entry in the same
//! transaction.

use rusqlite::{OptionalExtension, params};

use app::model::{
    Audience, ChannelSettings, ConversationId, ConversationKind, OrganisationId, Role, UserId,
};

use super::conversations::{announce, insert_conversation};
use super::insert_event;
use crate::store::{ChannelChanged, StoreResult, Written};

/// A channel admitting `roles` of `organisations`, unless one with that name exists.
pub(super) fn create_channel(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    organisations: &[OrganisationId],
    roles: &[Role],
    actor: UserId,
    now_ms: i64,
) -> StoreResult<Written> {
    if name_taken(tx, name, None)? {
        return Ok(Written::NameTaken);
    }
    // A renamed channel keeps its slug, so the new one may need another.
    let mut slug = name.to_string();
    let mut n = 2;
    while tx
        .prepare_cached("SELECT 1 FROM conversations WHERE slug = ?")?
        .query_row(params![slug], |_| Ok(()))
        .optional()?
        .is_some()
    {
        slug = format!("{name}-{n}");
        n += 1;
    }
    let (id, _) = insert_conversation(tx, ConversationKind::Channel, &slug, name, None, now_ms)?;
    admit(tx, id, organisations, roles)?;
    audit(tx, actor, "channel_created", id, now_ms)?;
    announce(tx, id, true, now_ms).map(Written::Opened)
}

/// Applies `change` to channel `conversation`.
pub(super) fn change_channel(
    tx: &rusqlite::Transaction<'_>,
    conversation: ConversationId,
    change: &ChannelSettings,
    actor: UserId,
    now_ms: i64,
) -> StoreResult<Written> {
    let Some(before) = load(tx, conversation)? else {
        return Ok(Written::Missing);
    };
    if before.name != change.name && name_taken(tx, &change.name, Some(conversation))? {
        return Ok(Written::NameTaken);
    }
    let id = conversation.0;
    let mut actions = Vec::new();
    if before.name != change.name {
        tx.prepare_cached("UPDATE conversations SET name = ? WHERE id = ?")?
            .execute(params![change.name, id])?;
        actions.push("channel_renamed");
    }
    if before.state.archived != change.archived {
        tx.prepare_cached("UPDATE conversations SET archived_at_ms = ? WHERE id = ?")?
            .execute(params![change.archived.then_some(now_ms), id])?;
        actions.push(if change.archived {
            "channel_archived"
        } else {
            "channel_unarchived"
        });
    }
    let admits_others = sorted(&before.state.organisations) != sorted(&change.organisations)
        || Role::in_order(&before.state.roles) != Role::in_order(&change.roles);
    if admits_others {
        tx.prepare_cached("DELETE FROM conversation_organisations WHERE conversation_id = ?")?
            .execute(params![id])?;
        tx.prepare_cached("DELETE FROM conversation_roles WHERE conversation_id = ?")?
            .execute(params![id])?;
        admit(tx, id, &change.organisations, &change.roles)?;
        actions.push("channel_access_changed");
    }
    for action in &actions {
        audit(tx, actor, action, id, now_ms)?;
    }
    let event_id = match (actions.is_empty(), admits_others) {
        (true, _) => None,
        (false, true) => Some(
            tx.prepare_cached(
                "INSERT INTO events (kind, conversation_id, created_at_ms) \
                 VALUES ('membership', ?, ?) RETURNING id",
            )?
            .query_row(params![id, now_ms], |row| {
                row.get(0).map(app::model::EventId)
            })?,
        ),
        (false, false) => Some(insert_event(tx, "conversation", id, None, None, now_ms)?),
    };
    let after = load(tx, conversation)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok(Written::ChannelChanged(ChannelChanged {
        before: audience(&before.state),
        after: audience(&after.state),
        slug: after.slug,
        name: after.name,
        last_seq: after.last_seq,
        event_id,
    }))
}

struct Loaded {
    name: String,
    slug: String,
    last_seq: i64,
    state: ChannelSettings,
}

fn load(
    tx: &rusqlite::Transaction<'_>,
    conversation: ConversationId,
) -> StoreResult<Option<Loaded>> {
    let Some((name, slug, last_seq, archived)) = tx
        .prepare_cached(
            "SELECT name, slug, last_seq, archived_at_ms IS NOT NULL FROM conversations \
             WHERE id = ? AND kind = 'channel'",
        )?
        .query_row(params![conversation.0], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, bool>(3)?,
            ))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let organisations = tx
        .prepare_cached(
            "SELECT organisation_id FROM conversation_organisations WHERE conversation_id = ? \
             ORDER BY organisation_id",
        )?
        .query_map(params![conversation.0], |row| {
            row.get(0).map(OrganisationId)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let roles: Vec<Role> = tx
        .prepare_cached("SELECT role FROM conversation_roles WHERE conversation_id = ?")?
        .query_map(params![conversation.0], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .iter()
        .filter_map(|r| Role::parse(r))
        .collect();
    Ok(Some(Loaded {
        state: ChannelSettings {
            name: name.clone(),
            organisations,
            roles: Role::in_order(&roles),
            archived,
        },
        name,
        slug,
        last_seq,
    }))
}

fn audience(state: &ChannelSettings) -> Audience {
    let mut audience = Audience::channel(state.organisations.clone(), state.roles.clone());
    audience.archived = state.archived;
    audience
}

fn sorted(organisations: &[OrganisationId]) -> Vec<OrganisationId> {
    let mut v = organisations.to_vec();
    v.sort();
    v.dedup();
    v
}

fn name_taken(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    except: Option<ConversationId>,
) -> rusqlite::Result<bool> {
    Ok(tx
        .prepare_cached("SELECT id FROM conversations WHERE kind = 'channel' AND name = ?")?
        .query_row(params![name], |row| row.get::<_, i64>(0))
        .optional()?
        .is_some_and(|id| Some(ConversationId(id)) != except))
}

fn admit(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    organisations: &[OrganisationId],
    roles: &[Role],
) -> rusqlite::Result<()> {
    for org in organisations {
        tx.prepare_cached(
            "INSERT INTO conversation_organisations (conversation_id, organisation_id) \
             VALUES (?, ?) ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, org.0])?;
    }
    for role in roles {
        tx.prepare_cached(
            "INSERT INTO conversation_roles (conversation_id, role) VALUES (?, ?) \
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, role.as_str()])?;
    }
    Ok(())
}

fn audit(
    tx: &rusqlite::Transaction<'_>,
    actor: UserId,
    action: &str,
    conversation: i64,
    now_ms: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit_log (actor_id, action, conversation_id, created_at_ms) \
         VALUES (?, ?, ?, ?)",
    )?
    .execute(params![actor.0, action, conversation, now_ms])?;
    Ok(())
}
