//! Direct conversations and order threads, opened on first use (idempotent: a second
//! open finds the first), announced by an event when created.

use rusqlite::{OptionalExtension, params};

use app::model::{ConversationId, ConversationKind, OrganisationId, UserId};

use super::insert_event;
use crate::store::{Opened, StoreResult};

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

pub(super) fn open_order_thread(
    tx: &rusqlite::Transaction<'_>,
    number: i64,
    organisations: &[OrganisationId],
    now_ms: i64,
) -> StoreResult<Opened> {
    let slug = format!("order-{number}");
    let external = format!("order:{number}");
    let (id, created) = insert_conversation(
        tx,
        ConversationKind::Order,
        &slug,
        &number.to_string(),
        Some(&external),
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
fn insert_conversation(
    tx: &rusqlite::Transaction<'_>,
    kind: ConversationKind,
    slug: &str,
    name: &str,
    external_ref: Option<&str>,
    now_ms: i64,
) -> StoreResult<(i64, bool)> {
    let created: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO conversations (kind, slug, name, external_ref, created_at_ms) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING RETURNING id",
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
fn announce(
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
