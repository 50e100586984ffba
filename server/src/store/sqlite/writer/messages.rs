//! Appends, edits, deletes and reactions, each with its event.

use rusqlite::{OptionalExtension, params};

use app::model::{Emoji, Mentions, Message, MessageId, UserId};

use super::{OwnReads, insert_event};
use crate::store::rows::{
    MESSAGE_JOINS, MESSAGE_SELECT, MessageRow, attachment_from, attachments_sql, group_reactions,
};
use crate::store::{Appended, Changed, NewMessage, StoreResult, Written};

/// One append: the message with the next `seq` (a resend of a `client_id` inserts nothing
/// and returns the earlier message), its event and its mentions; the sender's read
/// position goes to `own_reads`, written once per batch. Two statements in the common case.
pub(super) fn append(
    tx: &rusqlite::Transaction<'_>,
    message: &NewMessage,
    own_reads: &mut OwnReads,
) -> StoreResult<Appended> {
    let client_id = message.client_id.to_string();
    // No `RETURNING`: SQLite gathers returned rows in a temporary B-tree it opens and
    // zeroes for every statement. A resent `client_id` changes no row; otherwise the new
    // row's id is `last_insert_rowid()` and its `seq` is read back from it (BENCHMARKS.md,
    // issue 11).
    let changed = tx
        .prepare_cached(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms, reply_to) \
             SELECT ?1, last_seq + 1, ?2, ?3, ?4, ?5, ?6 FROM conversations WHERE id = ?1 \
             ON CONFLICT (sender_id, client_id) DO NOTHING",
        )?
        .execute(params![
            message.conversation_id.0,
            message.sender_id.0,
            client_id,
            message.body,
            message.created_at_ms,
            message.reply_to.map(|m| m.0),
        ])?;
    if changed == 0 {
        let earlier: i64 = tx
            .prepare_cached("SELECT id FROM messages WHERE sender_id = ? AND client_id = ?")?
            .query_row(params![message.sender_id.0, client_id], |row| row.get(0))?;
        return Ok(Appended {
            message: load(tx, earlier)?.ok_or_else(|| {
                crate::store::StoreError::Corrupt("a resent message vanished".into())
            })?,
            event_id: None,
        });
    }
    let id = tx.last_insert_rowid();
    let seq: i64 = tx
        .prepare_cached("SELECT seq FROM messages WHERE id = ?")?
        .query_row([id], |row| row.get(0))?;
    let event_id = insert_event(
        tx,
        "message",
        message.conversation_id.0,
        Some(id),
        None,
        message.created_at_ms,
    )?;
    own_reads.note(message.sender_id.0, message.conversation_id.0, seq);
    record_mentions(tx, id, &Mentions::of(&message.body), false)?;
    for attachment in &message.attachments {
        tx.prepare_cached(
            "UPDATE attachments SET message_id = ? WHERE id = ? AND uploader_id = ? \
             AND conversation_id = ? AND message_id IS NULL",
        )?
        .execute(params![
            id,
            attachment.0,
            message.sender_id.0,
            message.conversation_id.0
        ])?;
    }
    let mut stored = Message::new(
        MessageId(id),
        message.conversation_id,
        seq,
        (message.sender_id, message.sender_name.clone()),
        message.client_id,
        message.body.clone(),
        message.created_at_ms,
    );
    if message.reply_to.is_some() || !message.attachments.is_empty() {
        // Only a reply needs the quote the load joins in, and files their rows.
        stored = load(tx, id)?.unwrap_or(stored);
    }
    Ok(Appended {
        message: stored,
        event_id: Some(event_id),
    })
}

/// Who a message mentions, as rows (`mentions`) and the `@channel` flag; `replace`
/// clears what it mentioned before.
fn record_mentions(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    mentions: &Mentions,
    replace: bool,
) -> rusqlite::Result<()> {
    if replace {
        tx.prepare_cached("DELETE FROM mentions WHERE message_id = ?")?
            .execute(params![id])?;
        tx.prepare_cached("UPDATE messages SET mentions_everyone = ? WHERE id = ?")?
            .execute(params![mentions.everyone, id])?;
    } else if mentions.everyone {
        tx.prepare_cached("UPDATE messages SET mentions_everyone = 1 WHERE id = ?")?
            .execute(params![id])?;
    }
    for username in &mentions.usernames {
        tx.prepare_cached(
            "INSERT INTO mentions (message_id, user_id) \
             SELECT ?, id FROM users WHERE lower(username) = ? ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, username])?;
    }
    Ok(())
}

/// A new text replacing version `replaces`; the replaced text goes to `message_versions`.
pub(super) fn edit(
    tx: &rusqlite::Transaction<'_>,
    id: MessageId,
    replaces: u32,
    body: &str,
    now_ms: i64,
) -> StoreResult<Written> {
    let Some(current) = load(tx, id.0)? else {
        return Ok(Written::Missing);
    };
    if current.deleted || current.version != replaces {
        // The same edit again (a retry after a lost answer) changed nothing new.
        if !current.deleted && current.version == replaces + 1 && current.body == body {
            return Ok(Written::Changed(Changed {
                mentions_before: current.mentions(),
                message: current,
                event_id: None,
            }));
        }
        return Ok(Written::Stale(current));
    }
    tx.prepare_cached(
        "INSERT INTO message_versions (message_id, version, body, created_at_ms) \
         SELECT id, version, body, COALESCE(edited_at_ms, created_at_ms) FROM messages WHERE id = ?",
    )?
    .execute(params![id.0])?;
    tx.prepare_cached(
        "UPDATE messages SET body = ?, version = version + 1, edited_at_ms = ? WHERE id = ?",
    )?
    .execute(params![body, now_ms, id.0])?;
    record_mentions(tx, id.0, &Mentions::of(body), true)?;
    changed(tx, current, now_ms)
}

/// A soft delete: the text, its history, its mentions and reactions go; the row keeps
/// the message's place. Audited.
pub(super) fn delete(
    tx: &rusqlite::Transaction<'_>,
    id: MessageId,
    actor: UserId,
    now_ms: i64,
) -> StoreResult<Written> {
    let Some(current) = load(tx, id.0)? else {
        return Ok(Written::Missing);
    };
    if current.deleted {
        return Ok(Written::Changed(Changed {
            mentions_before: Mentions::default(),
            message: current,
            event_id: None,
        }));
    }
    for sql in [
        "DELETE FROM message_versions WHERE message_id = ?",
        "DELETE FROM mentions WHERE message_id = ?",
        "DELETE FROM reactions WHERE message_id = ?",
        "DELETE FROM attachments WHERE message_id = ?",
    ] {
        tx.prepare_cached(sql)?.execute(params![id.0])?;
    }
    tx.prepare_cached(
        "UPDATE messages SET body = '', deleted_at_ms = ?, mentions_everyone = 0 WHERE id = ?",
    )?
    .execute(params![now_ms, id.0])?;
    tx.prepare_cached(
        "INSERT INTO audit_log (actor_id, action, conversation_id, message_id, subject_id, created_at_ms) \
         VALUES (?, 'message_deleted', ?, ?, ?, ?)",
    )?
    .execute(params![
        actor.0,
        current.conversation_id.0,
        id.0,
        current.sender_id.0,
        now_ms
    ])?;
    changed(tx, current, now_ms)
}

/// Sets (`on`) or removes one user's reaction.
pub(super) fn react(
    tx: &rusqlite::Transaction<'_>,
    id: MessageId,
    user: UserId,
    emoji: Emoji,
    on: bool,
    now_ms: i64,
) -> StoreResult<Written> {
    let Some(current) = load(tx, id.0)? else {
        return Ok(Written::Missing);
    };
    if current.deleted {
        return Ok(Written::Stale(current));
    }
    let touched = if on {
        tx.prepare_cached(
            "INSERT INTO reactions (message_id, user_id, emoji, created_at_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![id.0, user.0, emoji.as_str(), now_ms])?
    } else {
        tx.prepare_cached(
            "DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ?",
        )?
        .execute(params![id.0, user.0, emoji.as_str()])?
    };
    if touched == 0 {
        return Ok(Written::Changed(Changed {
            mentions_before: current.mentions(),
            message: current,
            event_id: None,
        }));
    }
    changed(tx, current, now_ms)
}

/// Records the change of `before` as an event and answers with the message as it is now.
fn changed(tx: &rusqlite::Transaction<'_>, before: Message, now_ms: i64) -> StoreResult<Written> {
    let event_id = insert_event(
        tx,
        "message_changed",
        before.conversation_id.0,
        Some(before.id.0),
        None,
        now_ms,
    )?;
    let message = load(tx, before.id.0)?
        .ok_or_else(|| crate::store::StoreError::Corrupt("a changed message vanished".into()))?;
    Ok(Written::Changed(Changed {
        message,
        mentions_before: before.mentions(),
        event_id: Some(event_id),
    }))
}

/// One message as it is inside this transaction, with its quote and reactions.
fn load(tx: &rusqlite::Transaction<'_>, id: i64) -> StoreResult<Option<Message>> {
    let row = tx
        .prepare_cached(&format!(
            "SELECT {MESSAGE_SELECT} FROM messages m {MESSAGE_JOINS} WHERE m.id = ?"
        ))?
        .query_row(params![id], |row| MessageRow::from_rusqlite(row, 0))
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let reactions = tx
        .prepare_cached(
            "SELECT message_id, emoji, user_id FROM reactions WHERE message_id = ? \
             ORDER BY created_at_ms, user_id",
        )?
        .query_map(params![id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<(i64, String, i64)>>>()?;
    let reactions = group_reactions(reactions)?.remove(&id).unwrap_or_default();
    let attachments = tx
        .prepare_cached(&attachments_sql("?"))?
        .query_map(params![id], |row| {
            Ok(attachment_from(
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    row.into_message(reactions, attachments).map(Some)
}

/// Deletes up to `limit` of the messages sent before `before_ms`, oldest first, with
/// their reactions, versions, mentions, events and attachments (by cascade); replies to
/// them lose their quote. Returns the blobs no attachment refers to any more.
pub(super) fn purge(
    tx: &rusqlite::Transaction<'_>,
    before_ms: i64,
    limit: u32,
) -> StoreResult<Written> {
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS purging (id INTEGER PRIMARY KEY); DELETE FROM purging;",
    )?;
    tx.prepare_cached(
        "INSERT INTO purging (id) SELECT id FROM messages WHERE created_at_ms < ? \
         ORDER BY id LIMIT ?",
    )?
    .execute(params![before_ms, limit])?;
    let blobs: Vec<String> = tx
        .prepare_cached(
            "SELECT hash FROM attachments WHERE message_id IN (SELECT id FROM purging) \
             UNION SELECT thumb_hash FROM attachments \
                   WHERE message_id IN (SELECT id FROM purging) AND thumb_hash IS NOT NULL",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tx.prepare_cached(
        "UPDATE messages SET reply_to = NULL WHERE reply_to IN (SELECT id FROM purging) \
         AND id NOT IN (SELECT id FROM purging)",
    )?
    .execute([])?;
    let messages = tx
        .prepare_cached("DELETE FROM messages WHERE id IN (SELECT id FROM purging)")?
        .execute([])?;
    // Of their files, those no other attachment shares.
    let mut unused = Vec::new();
    for hash in blobs {
        let shared = tx
            .prepare_cached("SELECT 1 FROM attachments WHERE hash = ?1 OR thumb_hash = ?1 LIMIT 1")?
            .query_row(params![hash], |_| Ok(()))
            .optional()?
            .is_some();
        if !shared {
            unused.push(hash);
        }
    }
    tx.execute_batch("DELETE FROM purging;")?;
    Ok(Written::Purged {
        messages: messages as u64,
        blobs: unused,
    })
}

/// Puts the messages above the search watermark into the full-text index, in one go:
/// one FTS5 segment for thousands of messages instead of one per commit.
pub(super) fn index_pending(tx: &rusqlite::Transaction<'_>) -> StoreResult<Written> {
    let indexed = tx
        .prepare_cached(
            "INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages \
             WHERE id > (SELECT upto FROM search_indexed) ORDER BY id",
        )?
        .execute([])?;
    if indexed > 0 {
        tx.prepare_cached(
            "UPDATE search_indexed SET upto = (SELECT max(id) FROM messages) \
             WHERE (SELECT max(id) FROM messages) > upto",
        )?
        .execute([])?;
    }
    Ok(Written::Indexed(indexed as u64))
}
