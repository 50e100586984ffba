//! Direct conversations and order threads, opened on first use (idempotent: a second
//! open finds the first), announced by an event when created; groups, created, joined
//! and left, each change a `membership` event.

use rusqlite::{OptionalExtension, params};

use app::model::{ConversationId, ConversationKind, EventId, OrganisationId, ThreadRef, UserId};

use super::{insert_event, user_event};
use crate::store::{Opened, StoreResult, Written};

pub(super) fn open_direct(
    tx: &rusqlite::Transaction<'_>,
    a: UserId,
    b: UserId,
    now_ms: i64,
) -> StoreResult<Opened> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let slug = format!("dm-{lo}-{hi}");
    let (id, created) =
        insert_conversation(tx, ConversationKind::Direct, &slug, &slug, None, now_ms)?;
    if created {
        for member in [lo, hi] {
            tx.prepare_cached(
                "INSERT INTO conversation_members (conversation_id, user_id) VALUES (?, ?)",
            )?
            .execute(params![id, member.0])?;
        }
    }
    announce(tx, id, created, now_ms)
}

pub(super) fn open_thread(
    tx: &rusqlite::Transaction<'_>,
    reference: &ThreadRef,
    organisations: &[OrganisationId],
    now_ms: i64,
) -> StoreResult<Opened> {
    let (id, created) = insert_conversation(
        tx,
        ConversationKind::Order,
        &reference.slug(),
        &reference.value(),
        Some(&reference.to_string()),
        now_ms,
    )?;
    if created {
        for org in organisations {
            tx.prepare_cached(
                "INSERT INTO conversation_organisations (conversation_id, organisation_id) \
                 VALUES (?, ?) ON CONFLICT DO NOTHING",
            )?
            .execute(params![id, org.0])?;
        }
    }
    announce(tx, id, created, now_ms)
}

/// Creates a conversation unless one with the same slug exists. Returns its id and
/// whether it was created.
pub(super) fn insert_conversation(
    tx: &rusqlite::Transaction<'_>,
    kind: ConversationKind,
    slug: &str,
    name: &str,
    external_ref: Option<&str>,
    now_ms: i64,
) -> StoreResult<(i64, bool)> {
    let created: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO conversations (kind, slug, name, external_ref, created_at_ms, last_activity_ms) \
             VALUES (?, ?, ?, ?, ?5, ?5) ON CONFLICT (slug) DO NOTHING RETURNING id",
        )?
        .query_row(
            params![kind.as_str(), slug, name, external_ref, now_ms],
            |row| row.get(0),
        )
        .optional()?;
    match created {
        Some(id) => Ok((id, true)),
        None => Ok((
            tx.prepare_cached("SELECT id FROM conversations WHERE slug = ?")?
                .query_row(params![slug], |row| row.get(0))?,
            false,
        )),
    }
}

/// The `conversation` event of a conversation created now.
pub(super) fn announce(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    created: bool,
    now_ms: i64,
) -> StoreResult<Opened> {
    let created = if created {
        Some(insert_event(tx, "conversation", id, None, None, now_ms)?)
    } else {
        None
    };
    Ok(Opened {
        id: ConversationId(id),
        created,
    })
}

/// A group of `members`.
pub(super) fn create_group(
    tx: &rusqlite::Transaction<'_>,
    slug: &str,
    members: &[UserId],
    name: Option<&str>,
    now_ms: i64,
) -> StoreResult<Opened> {
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO conversations (kind, slug, name, named, created_at_ms, last_activity_ms) \
             VALUES ('group', ?, ?, ?, ?4, ?4) RETURNING id",
        )?
        .query_row(
            params![slug, name.unwrap_or(slug), name.is_some(), now_ms],
            |row| row.get(0),
        )?;
    for member in members {
        tx.prepare_cached(
            "INSERT INTO conversation_members (conversation_id, user_id) VALUES (?, ?) \
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, member.0])?;
    }
    announce(tx, id, true, now_ms)
}

/// Adds `users` to a group; a `membership` event for each one who was not in it.
pub(super) fn add_members(
    tx: &rusqlite::Transaction<'_>,
    conversation: ConversationId,
    users: &[UserId],
    now_ms: i64,
) -> StoreResult<Written> {
    let mut changes = Vec::new();
    for user in users {
        let added = tx
            .prepare_cached(
                "INSERT INTO conversation_members (conversation_id, user_id) \
                 SELECT id, ? FROM conversations WHERE id = ? AND kind = 'group' \
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![user.0, conversation.0])?;
        if added > 0 {
            changes.push((
                *user,
                user_event(tx, "membership", conversation, *user, now_ms)?,
            ));
        }
    }
    membership(tx, conversation, changes)
}

/// `user` leaves a group.
pub(super) fn leave(
    tx: &rusqlite::Transaction<'_>,
    conversation: ConversationId,
    user: UserId,
    now_ms: i64,
) -> StoreResult<Written> {
    let left = tx
        .prepare_cached(
            "DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ? \
             AND EXISTS (SELECT 1 FROM conversations WHERE id = conversation_id AND kind = 'group')",
        )?
        .execute(params![conversation.0, user.0])?;
    let mut changes = Vec::new();
    if left > 0 {
        changes.push((
            user,
            user_event(tx, "membership", conversation, user, now_ms)?,
        ));
    }
    membership(tx, conversation, changes)
}

fn membership(
    tx: &rusqlite::Transaction<'_>,
    conversation: ConversationId,
    changes: Vec<(UserId, EventId)>,
) -> StoreResult<Written> {
    let members = tx
        .prepare_cached(
            "SELECT user_id FROM conversation_members WHERE conversation_id = ? ORDER BY user_id",
        )?
        .query_map(params![conversation.0], |row| row.get(0).map(UserId))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Written::Membership { changes, members })
}
