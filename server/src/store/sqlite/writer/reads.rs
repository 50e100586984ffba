//! Each person's own state of a conversation, inside the writer's transaction: read
//! positions (moved forward only, with an event when they move, and the unread and
//! mention counts that follow) and mutes (with an event when they change).

use rusqlite::params;

use app::model::{ConversationId, EventId, Seq, UserId};

use super::{insert_event, user_event};
use crate::store::sqlite::{MENTIONING, UNREAD_MESSAGES};
use crate::store::{ReadPosition, StoreResult};

pub(super) fn mark_read(
    tx: &rusqlite::Transaction<'_>,
    user: UserId,
    conversation: ConversationId,
    seq: Seq,
    now_ms: i64,
) -> StoreResult<ReadPosition> {
    let (current, last_seq): (Seq, Option<Seq>) = tx
        .prepare_cached(
            "SELECT (SELECT COALESCE(MAX(last_read_seq), 0) FROM read_state \
                     WHERE user_id = ?1 AND conversation_id = ?2), \
                    (SELECT last_seq FROM conversations WHERE id = ?2)",
        )?
        .query_row(params![user.0, conversation.0], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    // Never past the newest message.
    let seq = seq.min(last_seq.unwrap_or(0));
    let mut event_id = None;
    if seq > current {
        tx.prepare_cached(
            "INSERT INTO read_state (user_id, conversation_id, last_read_seq) VALUES (?, ?, ?) \
             ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_read_seq = excluded.last_read_seq",
        )?
        .execute(params![user.0, conversation.0, seq])?;
        event_id = Some(insert_event(
            tx,
            "read",
            conversation.0,
            None,
            Some((user.0, seq)),
            now_ms,
        )?);
    }
    let last_read_seq = seq.max(current);
    let (unread, mentions): (i64, i64) = tx
        .prepare_cached(&format!(
            "SELECT COUNT(*), COALESCE(SUM({MENTIONING}), 0) \
             FROM messages m LEFT JOIN read_state r ON r.user_id = ?1 AND r.conversation_id = ?2 \
             WHERE m.conversation_id = ?2 AND {UNREAD_MESSAGES}"
        ))?
        .query_row(params![user.0, conversation.0], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    Ok(ReadPosition {
        last_read_seq,
        unread: u32::try_from(unread).unwrap_or(u32::MAX),
        mentions: u32::try_from(mentions).unwrap_or(u32::MAX),
        event_id,
    })
}

pub(super) fn set_muted(
    tx: &rusqlite::Transaction<'_>,
    user: UserId,
    conversation: ConversationId,
    muted: bool,
    now_ms: i64,
) -> StoreResult<Option<EventId>> {
    let sql = if muted {
        "INSERT INTO conversation_mutes (user_id, conversation_id) VALUES (?, ?) \
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM conversation_mutes WHERE user_id = ? AND conversation_id = ?"
    };
    if tx
        .prepare_cached(sql)?
        .execute(params![user.0, conversation.0])?
        == 0
    {
        return Ok(None);
    }
    Ok(Some(user_event(tx, "mute", conversation, user, now_ms)?))
}
