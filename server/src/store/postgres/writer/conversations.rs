//! Direct conversations and order threads, opened on first use (idempotent: a second
//! open, on this node or another, finds the first), announced by an event when created;
//! groups, created, joined and left, each change a `membership` event.

use app::model::{ConversationId, ConversationKind, EventId, OrganisationId, ThreadRef, UserId};

use super::Batch;
use crate::store::{Opened, StoreResult, Written};

pub(super) async fn open_direct(
    batch: &mut Batch<'_>,
    a: UserId,
    b: UserId,
    now_ms: i64,
) -> StoreResult<Opened> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let slug = format!("dm-{lo}-{hi}");
    let (id, created) =
        insert_conversation(batch, ConversationKind::Direct, &slug, &slug, None, now_ms).await?;
    if created {
        sqlx::query(
            "INSERT INTO conversation_members (conversation_id, user_id) \
             SELECT $1, UNNEST($2::bigint[])",
        )
        .bind(id)
        .bind(vec![lo.0, hi.0])
        .execute(&mut *batch.conn)
        .await?;
    }
    Ok(announce(batch, id, created, now_ms))
}

pub(super) async fn open_thread(
    batch: &mut Batch<'_>,
    reference: &ThreadRef,
    organisations: &[OrganisationId],
    now_ms: i64,
) -> StoreResult<Opened> {
    let (id, created) = insert_conversation(
        batch,
        ConversationKind::Order,
        &reference.slug(),
        &reference.value(),
        Some(&reference.to_string()),
        now_ms,
    )
    .await?;
    if created {
        sqlx::query(
            "INSERT INTO conversation_organisations (conversation_id, organisation_id) \
             SELECT $1, UNNEST($2::bigint[]) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(organisations.iter().map(|o| o.0).collect::<Vec<_>>())
        .execute(&mut *batch.conn)
        .await?;
    }
    Ok(announce(batch, id, created, now_ms))
}

/// Creates a conversation unless one with the same slug exists (one another node is
/// creating is waited for, then found). Returns its id and whether it was created.
pub(super) async fn insert_conversation(
    batch: &mut Batch<'_>,
    kind: ConversationKind,
    slug: &str,
    name: &str,
    external_ref: Option<&str>,
    now_ms: i64,
) -> StoreResult<(i64, bool)> {
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO conversations (kind, slug, name, external_ref, created_at_ms, last_activity_ms) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (slug) DO NOTHING RETURNING id",
    )
    .bind(kind.as_str())
    .bind(slug)
    .bind(name)
    .bind(external_ref)
    .bind(now_ms)
    .fetch_optional(&mut *batch.conn)
    .await?;
    match created {
        Some(id) => Ok((id, true)),
        None => Ok((
            sqlx::query_scalar("SELECT id FROM conversations WHERE slug = $1")
                .bind(slug)
                .fetch_one(&mut *batch.conn)
                .await?,
            false,
        )),
    }
}

/// The `conversation` event of a conversation created now.
pub(super) fn announce(batch: &mut Batch<'_>, id: i64, created: bool, now_ms: i64) -> Opened {
    Opened {
        id: ConversationId(id),
        created: created.then(|| batch.event("conversation", id, None, None, now_ms)),
    }
}

/// A group of `members`.
pub(super) async fn create_group(
    batch: &mut Batch<'_>,
    slug: &str,
    members: &[UserId],
    name: Option<&str>,
    now_ms: i64,
) -> StoreResult<Opened> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO conversations (kind, slug, name, named, created_at_ms, last_activity_ms) \
         VALUES ('group', $1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(slug)
    .bind(name.unwrap_or(slug))
    .bind(name.is_some())
    .bind(now_ms)
    .fetch_one(&mut *batch.conn)
    .await?;
    sqlx::query(
        "INSERT INTO conversation_members (conversation_id, user_id) \
         SELECT $1, UNNEST($2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(members.iter().map(|u| u.0).collect::<Vec<_>>())
    .execute(&mut *batch.conn)
    .await?;
    Ok(announce(batch, id, true, now_ms))
}

/// Adds `users` to a group; a `membership` event for each one who was not in it.
pub(super) async fn add_members(
    batch: &mut Batch<'_>,
    conversation: ConversationId,
    users: &[UserId],
    now_ms: i64,
) -> StoreResult<Written> {
    let mut changes = Vec::new();
    for user in users {
        let added = sqlx::query(
            "INSERT INTO conversation_members (conversation_id, user_id) \
             SELECT id, $1 FROM conversations WHERE id = $2 AND kind = 'group' \
             ON CONFLICT DO NOTHING",
        )
        .bind(user.0)
        .bind(conversation.0)
        .execute(&mut *batch.conn)
        .await?
        .rows_affected();
        if added > 0 {
            changes.push((
                *user,
                batch.user_event("membership", conversation, *user, now_ms),
            ));
        }
    }
    membership(batch, conversation, changes).await
}

/// `user` leaves a group.
pub(super) async fn leave(
    batch: &mut Batch<'_>,
    conversation: ConversationId,
    user: UserId,
    now_ms: i64,
) -> StoreResult<Written> {
    let left = sqlx::query(
        "DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2 \
         AND EXISTS (SELECT 1 FROM conversations WHERE id = conversation_id AND kind = 'group')",
    )
    .bind(conversation.0)
    .bind(user.0)
    .execute(&mut *batch.conn)
    .await?
    .rows_affected();
    let mut changes = Vec::new();
    if left > 0 {
        changes.push((
            user,
            batch.user_event("membership", conversation, user, now_ms),
        ));
    }
    membership(batch, conversation, changes).await
}

async fn membership(
    batch: &mut Batch<'_>,
    conversation: ConversationId,
    changes: Vec<(UserId, EventId)>,
) -> StoreResult<Written> {
    let members = sqlx::query_scalar(
        "SELECT user_id FROM conversation_members WHERE conversation_id = $1 ORDER BY user_id",
    )
    .bind(conversation.0)
    .fetch_all(&mut *batch.conn)
    .await?
    .into_iter()
    .map(UserId)
    .collect();
    Ok(Written::Membership { changes, members })
}
