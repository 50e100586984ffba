//! Appends (a run of them in one statement), edits, deletes and reactions, each with its
//! event; and retention's purge.

use std::collections::HashMap;

use sqlx::Row;

use app::model::{Emoji, Mentions, Message, MessageId, UserId};

use super::{Batch, audit};
use crate::store::reads::SharedReads;
use crate::store::rows::id_list;
use crate::store::{Appended, Changed, NewMessage, StoreError, StoreResult, Written};

/// A run of appends: each message with its conversation's next `seq` (a resend of a
/// `(sender, client id)` stored before, or earlier in the run, inserts nothing and
/// returns that message), its event, the senders' read positions, mentions and files.
/// A handful of statements for the whole run.
pub(super) async fn append(
    batch: &mut Batch<'_>,
    run: &[&NewMessage],
) -> StoreResult<Vec<Appended>> {
    let key = |m: &NewMessage| (m.sender_id.0, m.client_id.to_string());
    // Stored before: found, not inserted.
    let earlier: HashMap<(i64, String), i64> = sqlx::query(
        "SELECT m.sender_id, m.client_id::text AS client_id, m.id FROM messages m \
         JOIN UNNEST($1::bigint[], $2::uuid[]) AS k (sender_id, client_id) \
           ON m.sender_id = k.sender_id AND m.client_id = k.client_id",
    )
    .bind(run.iter().map(|m| m.sender_id.0).collect::<Vec<_>>())
    .bind(
        run.iter()
            .map(|m| m.client_id.to_string())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *batch.conn)
    .await?
    .iter()
    .map(|row| {
        Ok((
            (row.try_get("sender_id")?, row.try_get("client_id")?),
            row.try_get("id")?,
        ))
    })
    .collect::<StoreResult<_>>()?;
    // What is new, once each (a key twice in the run is one message).
    let mut first_of: HashMap<(i64, String), usize> = HashMap::new();
    let mut fresh: Vec<usize> = Vec::new();
    for (i, m) in run.iter().enumerate() {
        let k = key(m);
        if !earlier.contains_key(&k) && !first_of.contains_key(&k) {
            first_of.insert(k, i);
            fresh.push(i);
        }
    }
    // Lock the conversations, in id order, and number the new messages.
    let mut conversations: Vec<i64> = fresh.iter().map(|&i| run[i].conversation_id.0).collect();
    conversations.sort_unstable();
    conversations.dedup();
    let mut last_seq: HashMap<i64, i64> = HashMap::new();
    if !conversations.is_empty() {
        for row in sqlx::query(
            "SELECT id, last_seq FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(&conversations)
        .fetch_all(&mut *batch.conn)
        .await?
        {
            last_seq.insert(row.try_get("id")?, row.try_get("last_seq")?);
        }
    }
    let mut seqs = Vec::with_capacity(fresh.len());
    for &i in &fresh {
        let conversation = run[i].conversation_id.0;
        let last = last_seq
            .get_mut(&conversation)
            .ok_or_else(|| StoreError::Corrupt(format!("no conversation {conversation}")))?;
        *last += 1;
        seqs.push(*last);
    }
    let mentions: Vec<Mentions> = fresh.iter().map(|&i| Mentions::of(&run[i].body)).collect();
    let mut ids: Vec<i64> = Vec::with_capacity(fresh.len());
    if !fresh.is_empty() {
        // The trigger checks each seq against its conversation's row in this order.
        let inserted: HashMap<(i64, i64), i64> = sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms, \
                                   reply_to, mentions_everyone) \
             SELECT conversation_id, seq, sender_id, client_id, body, created_at_ms, reply_to, everyone \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::uuid[], $5::text[], \
                         $6::bigint[], $7::bigint[], $8::boolean[]) WITH ORDINALITY \
                  AS n (conversation_id, seq, sender_id, client_id, body, created_at_ms, reply_to, \
                        everyone, ord) \
             ORDER BY ord RETURNING id, conversation_id, seq",
        )
        .bind(fresh.iter().map(|&i| run[i].conversation_id.0).collect::<Vec<_>>())
        .bind(&seqs)
        .bind(fresh.iter().map(|&i| run[i].sender_id.0).collect::<Vec<_>>())
        .bind(fresh.iter().map(|&i| run[i].client_id.to_string()).collect::<Vec<_>>())
        .bind(fresh.iter().map(|&i| run[i].body.clone()).collect::<Vec<_>>())
        .bind(fresh.iter().map(|&i| run[i].created_at_ms).collect::<Vec<_>>())
        .bind(fresh.iter().map(|&i| run[i].reply_to.map(|m| m.0)).collect::<Vec<_>>())
        .bind(mentions.iter().map(|m| m.everyone).collect::<Vec<_>>())
        .fetch_all(&mut *batch.conn)
        .await?
        .iter()
        .map(|row| {
            Ok((
                (row.try_get("conversation_id")?, row.try_get("seq")?),
                row.try_get("id")?,
            ))
        })
        .collect::<StoreResult<_>>()?;
        for (n, &i) in fresh.iter().enumerate() {
            let id = inserted
                .get(&(run[i].conversation_id.0, seqs[n]))
                .ok_or_else(|| StoreError::Corrupt("an inserted message is missing".into()))?;
            ids.push(*id);
        }
        record(batch, run, &fresh, &seqs, &ids, &mentions).await?;
    }
    // The answers, in the run's order.
    let mut new_at: HashMap<usize, usize> = HashMap::new();
    for (n, &i) in fresh.iter().enumerate() {
        new_at.insert(i, n);
    }
    let mut event_of: HashMap<usize, app::model::EventId> = HashMap::new();
    for (n, &i) in fresh.iter().enumerate() {
        let m = run[i];
        event_of.insert(
            i,
            batch.event(
                "message",
                m.conversation_id.0,
                Some(ids[n]),
                None,
                m.created_at_ms,
            ),
        );
    }
    // Replies need their quote and files their rows; resends are loaded as stored.
    let mut to_load: Vec<i64> = earlier.values().copied().collect();
    for (n, &i) in fresh.iter().enumerate() {
        if run[i].reply_to.is_some() || !run[i].attachments.is_empty() {
            to_load.push(ids[n]);
        }
    }
    let loaded: HashMap<i64, Message> = if to_load.is_empty() {
        HashMap::new()
    } else {
        SharedReads(&mut *batch.conn)
            .messages(&format!("m.id IN ({})", id_list(to_load)), "", &[])
            .await?
            .into_iter()
            .map(|m| (m.id.0, m))
            .collect()
    };
    let mut answers = Vec::with_capacity(run.len());
    for (i, m) in run.iter().enumerate() {
        let k = key(m);
        if let Some(id) = earlier.get(&k) {
            let message = loaded
                .get(id)
                .cloned()
                .ok_or_else(|| StoreError::Corrupt("a resent message vanished".into()))?;
            answers.push(Appended {
                message,
                event_id: None,
            });
            continue;
        }
        let first = first_of[&k];
        let n = new_at[&first];
        let message = loaded.get(&ids[n]).cloned().unwrap_or_else(|| {
            Message::new(
                MessageId(ids[n]),
                m.conversation_id,
                seqs[n],
                (m.sender_id, m.sender_name.clone()),
                m.client_id,
                m.body.clone(),
                m.created_at_ms,
            )
        });
        answers.push(Appended {
            message,
            event_id: (first == i).then(|| event_of[&i]),
        });
    }
    Ok(answers)
}

/// What new messages bring along: the senders' read positions (moved to their own
/// message), who they mention, and the files they take.
async fn record(
    batch: &mut Batch<'_>,
    run: &[&NewMessage],
    fresh: &[usize],
    seqs: &[i64],
    ids: &[i64],
    mentions: &[Mentions],
) -> StoreResult<()> {
    // One row per (sender, conversation): an upsert may not touch a row twice.
    let mut reads: HashMap<(i64, i64), i64> = HashMap::new();
    for (n, &i) in fresh.iter().enumerate() {
        let at = reads
            .entry((run[i].sender_id.0, run[i].conversation_id.0))
            .or_default();
        *at = (*at).max(seqs[n]);
    }
    let (readers, rest): (Vec<_>, Vec<_>) = reads.into_iter().unzip();
    let (users, conversations): (Vec<i64>, Vec<i64>) = readers.into_iter().unzip();
    sqlx::query(
        "INSERT INTO read_state (user_id, conversation_id, last_read_seq) \
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) \
         ON CONFLICT (user_id, conversation_id) DO UPDATE \
         SET last_read_seq = GREATEST(read_state.last_read_seq, excluded.last_read_seq)",
    )
    .bind(&users)
    .bind(&conversations)
    .bind(&rest)
    .execute(&mut *batch.conn)
    .await?;
    let (mut named_in, mut names) = (Vec::new(), Vec::new());
    for (n, found) in mentions.iter().enumerate() {
        for username in &found.usernames {
            named_in.push(ids[n]);
            names.push(username.clone());
        }
    }
    if !names.is_empty() {
        sqlx::query(
            "INSERT INTO mentions (message_id, user_id) \
             SELECT n.message_id, u.id FROM UNNEST($1::bigint[], $2::text[]) AS n (message_id, name) \
             JOIN users u ON lower(u.username) = n.name ON CONFLICT DO NOTHING",
        )
        .bind(&named_in)
        .bind(&names)
        .execute(&mut *batch.conn)
        .await?;
    }
    let (mut taken_by, mut files, mut senders, mut places) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (n, &i) in fresh.iter().enumerate() {
        for file in &run[i].attachments {
            taken_by.push(ids[n]);
            files.push(file.0);
            senders.push(run[i].sender_id.0);
            places.push(run[i].conversation_id.0);
        }
    }
    if !files.is_empty() {
        sqlx::query(
            "UPDATE attachments a SET message_id = t.message_id \
             FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) \
                  AS t (message_id, id, uploader_id, conversation_id) \
             WHERE a.id = t.id AND a.uploader_id = t.uploader_id \
               AND a.conversation_id = t.conversation_id AND a.message_id IS NULL",
        )
        .bind(&taken_by)
        .bind(&files)
        .bind(&senders)
        .bind(&places)
        .execute(&mut *batch.conn)
        .await?;
    }
    Ok(())
}

/// One message as it is inside the batch, its row locked to the commit (so an edit or
/// delete on another node waits, then sees this one's result).
async fn lock(batch: &mut Batch<'_>, id: MessageId) -> StoreResult<Option<Message>> {
    let found = sqlx::query("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE")
        .bind(id.0)
        .fetch_optional(&mut *batch.conn)
        .await?;
    if found.is_none() {
        return Ok(None);
    }
    SharedReads(&mut *batch.conn).message(id).await
}

/// A new text replacing version `replaces`; the replaced text goes to `message_versions`.
pub(super) async fn edit(
    batch: &mut Batch<'_>,
    id: MessageId,
    replaces: u32,
    body: &str,
    now_ms: i64,
) -> StoreResult<Written> {
    let Some(current) = lock(batch, id).await? else {
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
    let mentions = Mentions::of(body);
    sqlx::query(
        "INSERT INTO message_versions (message_id, version, body, created_at_ms) \
         SELECT id, version, body, COALESCE(edited_at_ms, created_at_ms) FROM messages WHERE id = $1",
    )
    .bind(id.0)
    .execute(&mut *batch.conn)
    .await?;
    sqlx::query(
        "UPDATE messages SET body = $1, version = version + 1, edited_at_ms = $2, \
         mentions_everyone = $3 WHERE id = $4",
    )
    .bind(body)
    .bind(now_ms)
    .bind(mentions.everyone)
    .bind(id.0)
    .execute(&mut *batch.conn)
    .await?;
    sqlx::query("DELETE FROM mentions WHERE message_id = $1")
        .bind(id.0)
        .execute(&mut *batch.conn)
        .await?;
    sqlx::query(
        "INSERT INTO mentions (message_id, user_id) SELECT $1, id FROM users \
         WHERE lower(username) = ANY($2) ON CONFLICT DO NOTHING",
    )
    .bind(id.0)
    .bind(&mentions.usernames)
    .execute(&mut *batch.conn)
    .await?;
    changed(batch, current, now_ms).await
}

/// A soft delete: the text, its history, its mentions, reactions and files go; the row
/// keeps the message's place. Audited.
pub(super) async fn delete(
    batch: &mut Batch<'_>,
    id: MessageId,
    actor: UserId,
    now_ms: i64,
) -> StoreResult<Written> {
    let Some(current) = lock(batch, id).await? else {
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
        "DELETE FROM message_versions WHERE message_id = $1",
        "DELETE FROM mentions WHERE message_id = $1",
        "DELETE FROM reactions WHERE message_id = $1",
        "DELETE FROM attachments WHERE message_id = $1",
    ] {
        sqlx::query(sql)
            .bind(id.0)
            .execute(&mut *batch.conn)
            .await?;
    }
    sqlx::query(
        "UPDATE messages SET body = '', deleted_at_ms = $1, mentions_everyone = FALSE WHERE id = $2",
    )
    .bind(now_ms)
    .bind(id.0)
    .execute(&mut *batch.conn)
    .await?;
    audit(
        batch,
        actor,
        "message_deleted",
        current.conversation_id.0,
        Some(id.0),
        Some(current.sender_id),
        now_ms,
    )
    .await?;
    changed(batch, current, now_ms).await
}

/// Sets (`on`) or removes one user's reaction.
pub(super) async fn react(
    batch: &mut Batch<'_>,
    id: MessageId,
    user: UserId,
    emoji: Emoji,
    on: bool,
    now_ms: i64,
) -> StoreResult<Written> {
    let Some(current) = lock(batch, id).await? else {
        return Ok(Written::Missing);
    };
    if current.deleted {
        return Ok(Written::Stale(current));
    }
    let query = if on {
        sqlx::query(
            "INSERT INTO reactions (message_id, user_id, emoji, created_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(id.0)
        .bind(user.0)
        .bind(emoji.as_str())
        .bind(now_ms)
    } else {
        sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3")
            .bind(id.0)
            .bind(user.0)
            .bind(emoji.as_str())
    };
    if query.execute(&mut *batch.conn).await?.rows_affected() == 0 {
        return Ok(Written::Changed(Changed {
            mentions_before: current.mentions(),
            message: current,
            event_id: None,
        }));
    }
    changed(batch, current, now_ms).await
}

/// Records the change of `before` as an event and answers with the message as it is now.
async fn changed(batch: &mut Batch<'_>, before: Message, now_ms: i64) -> StoreResult<Written> {
    let event_id = batch.event(
        "message_changed",
        before.conversation_id.0,
        Some(before.id.0),
        None,
        now_ms,
    );
    let message = SharedReads(&mut *batch.conn)
        .message(before.id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a changed message vanished".into()))?;
    Ok(Written::Changed(Changed {
        message,
        mentions_before: before.mentions(),
        event_id: Some(event_id),
    }))
}

/// Deletes up to `limit` of the messages sent before `before_ms`, oldest first, with
/// their reactions, versions, mentions, events and attachments (by cascade); replies to
/// them lose their quote. Returns the blobs no attachment refers to any more.
pub(super) async fn purge(
    batch: &mut Batch<'_>,
    before_ms: i64,
    limit: u32,
) -> StoreResult<Written> {
    let purging: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM messages WHERE created_at_ms < $1 ORDER BY id LIMIT $2 FOR UPDATE",
    )
    .bind(before_ms)
    .bind(i64::from(limit))
    .fetch_all(&mut *batch.conn)
    .await?;
    if purging.is_empty() {
        return Ok(Written::Purged {
            messages: 0,
            blobs: Vec::new(),
        });
    }
    let blobs: Vec<String> = sqlx::query_scalar(
        "SELECT hash FROM attachments WHERE message_id = ANY($1) \
         UNION SELECT thumb_hash FROM attachments \
               WHERE message_id = ANY($1) AND thumb_hash IS NOT NULL",
    )
    .bind(&purging)
    .fetch_all(&mut *batch.conn)
    .await?;
    sqlx::query(
        "UPDATE messages SET reply_to = NULL WHERE reply_to = ANY($1) AND NOT (id = ANY($1))",
    )
    .bind(&purging)
    .execute(&mut *batch.conn)
    .await?;
    let messages = sqlx::query("DELETE FROM messages WHERE id = ANY($1)")
        .bind(&purging)
        .execute(&mut *batch.conn)
        .await?
        .rows_affected();
    // Of their files, those no other attachment shares.
    let shared: Vec<String> = sqlx::query_scalar(
        "SELECT hash FROM attachments WHERE hash = ANY($1) \
         UNION SELECT thumb_hash FROM attachments WHERE thumb_hash = ANY($1)",
    )
    .bind(&blobs)
    .fetch_all(&mut *batch.conn)
    .await?;
    Ok(Written::Purged {
        messages,
        blobs: blobs.into_iter().filter(|b| !shared.contains(b)).collect(),
    })
}
