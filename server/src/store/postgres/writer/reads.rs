//! Each person's own state of a conversation, inside the writer's transaction: read
//! positions (moved forward only, with an event when they move, and the unread and
//! mention counts that follow) and mutes (with an event when they change).

use sqlx::Row;

use app::model::{ConversationId, EventId, Seq, UserId};

use super::Batch;
use crate::store::postgres::{MENTIONING, UNREAD_MESSAGES};
use crate::store::{ReadPosition, StoreResult};

pub(super) async fn mark_read(
    batch: &mut Batch<'_>,
    user: UserId,
    conversation: ConversationId,
    seq: Seq,
    now_ms: i64,
) -> StoreResult<ReadPosition> {
    // Never past the newest message; never back (another node may move it at once: the
    // upsert's condition is checked on the row as it is when locked).
    let moved: Option<Seq> = sqlx::query_scalar(
        "INSERT INTO read_state (user_id, conversation_id, last_read_seq) \
         SELECT $1, id, LEAST($3, last_seq) FROM conversations WHERE id = $2 AND LEAST($3, last_seq) > 0 \
         ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_seq = excluded.last_read_seq \
         WHERE read_state.last_read_seq < excluded.last_read_seq \
         RETURNING last_read_seq",
    )
    .bind(user.0)
    .bind(conversation.0)
    .bind(seq)
    .fetch_optional(&mut *batch.conn)
    .await?;
    let event_id =
        moved.map(|seq| batch.event("read", conversation.0, None, Some((user.0, seq)), now_ms));
    let row = sqlx::query(&format!(
        "SELECT COALESCE(r.last_read_seq, 0) AS last_read_seq, \
                (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = $2 AND {UNREAD_MESSAGES}) AS unread, \
                (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = $2 AND {UNREAD_MESSAGES} \
                    AND {MENTIONING}) AS mentions \
         FROM (SELECT 1) one LEFT JOIN read_state r ON r.user_id = $1 AND r.conversation_id = $2"
    ))
    .bind(user.0)
    .bind(conversation.0)
    .fetch_one(&mut *batch.conn)
    .await?;
    let (unread, mentions): (i64, i64) = (row.try_get("unread")?, row.try_get("mentions")?);
    Ok(ReadPosition {
        last_read_seq: row.try_get("last_read_seq")?,
        unread: u32::try_from(unread).unwrap_or(u32::MAX),
        mentions: u32::try_from(mentions).unwrap_or(u32::MAX),
        event_id,
    })
}

pub(super) async fn set_muted(
    batch: &mut Batch<'_>,
    user: UserId,
    conversation: ConversationId,
    muted: bool,
    now_ms: i64,
) -> StoreResult<Option<EventId>> {
    let sql = if muted {
        "INSERT INTO conversation_mutes (user_id, conversation_id) VALUES ($1, $2) \
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM conversation_mutes WHERE user_id = $1 AND conversation_id = $2"
    };
    let touched = sqlx::query(sql)
        .bind(user.0)
        .bind(conversation.0)
        .execute(&mut *batch.conn)
        .await?
        .rows_affected();
    Ok((touched > 0).then(|| batch.user_event("mute", conversation, user, now_ms)))
}
