//! The reads both engines make with one SQL text: message pages, one message, its edit
//! history, who read how far, and the event stream a reconnecting client catches up
//! from. The SQL is the subset SQLite and PostgreSQL share, with `$n` parameters (which
//! sqlx's SQLite driver binds by number too); only full-text search differs by engine.

use std::collections::HashMap;

use sqlx::{ColumnIndex, Connection, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use app::model::{
    Attachment, ConversationId, EventId, Message, MessageId, MessageVersion, Seq, UserId,
};

use super::rows::{
    MESSAGE_JOINS, MESSAGE_SELECT, MessageRow, attachment_from_sqlx, attachments_sql,
    group_reactions, id_list, reactions_sql,
};
use super::{Reader, StoreError, StoreResult, StoredEvent, StoredEventKind};

/// The shared reads on one connection of either engine: one taken from a pool for a
/// read, or a writer's inside its transaction (which sees what the transaction wrote).
pub(crate) struct SharedReads<'c, C>(pub &'c mut C);

/// An event row before its message (if any) is complete. Short-lived, one per row.
#[allow(clippy::large_enum_variant)]
enum Shape {
    /// Appended (`message`) or changed (`message_changed`).
    Message {
        appended: bool,
    },
    Ready(StoredEventKind),
}

impl<C, DB> SharedReads<'_, C>
where
    C: Connection<Database = DB>,
    DB: Database,
    for<'e> &'e mut C: Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Decode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    &'static str: ColumnIndex<DB::Row>,
{
    /// Messages matching `condition` (over `messages m`, binding `binds` as `$1…`), in
    /// `order`, complete.
    pub async fn messages(
        &mut self,
        condition: &str,
        order: &str,
        binds: &[i64],
    ) -> StoreResult<Vec<Message>> {
        let sql = format!(
            "SELECT {MESSAGE_SELECT} FROM messages m {MESSAGE_JOINS} WHERE {condition} {order}"
        );
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        let rows = query
            .fetch_all(&mut *self.0)
            .await?
            .iter()
            .map(MessageRow::from_sqlx)
            .collect::<StoreResult<Vec<_>>>()?;
        self.complete(rows).await
    }

    /// Up to `limit` messages with `seq < before` (all when `None`), newest first.
    pub async fn history(
        &mut self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.messages(
            "m.conversation_id = $1 AND m.seq < $2",
            "ORDER BY m.seq DESC LIMIT $3",
            &[conversation.0, before.unwrap_or(i64::MAX), i64::from(limit)],
        )
        .await
    }

    pub async fn message(&mut self, id: MessageId) -> StoreResult<Option<Message>> {
        Ok(self.messages("m.id = $1", "", &[id.0]).await?.pop())
    }

    /// Up to `limit` messages with `seq > after`, oldest first.
    pub async fn messages_after(
        &mut self,
        conversation: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.messages(
            "m.conversation_id = $1 AND m.seq > $2",
            "ORDER BY m.seq LIMIT $3",
            &[conversation.0, after, i64::from(limit)],
        )
        .await
    }

    /// Completes message rows with their reactions and attachments (one query each for
    /// all of them). One message may come several times (a replay of its events).
    pub async fn complete(&mut self, rows: Vec<MessageRow>) -> StoreResult<Vec<Message>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids = id_list(rows.iter().map(|r| r.id));
        let reaction_rows = sqlx::query(&reactions_sql(&ids))
            .fetch_all(&mut *self.0)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("message_id")?,
                    row.try_get("emoji")?,
                    row.try_get("user_id")?,
                ))
            })
            .collect::<StoreResult<Vec<(i64, String, i64)>>>()?;
        let reactions = group_reactions(reaction_rows)?;
        let mut files: HashMap<i64, Vec<Attachment>> = HashMap::new();
        for row in sqlx::query(&attachments_sql(&ids))
            .fetch_all(&mut *self.0)
            .await?
        {
            let message: i64 = row.try_get("message_id")?;
            files
                .entry(message)
                .or_default()
                .push(attachment_from_sqlx(&row)?);
        }
        rows.into_iter()
            .map(|row| {
                let its = reactions.get(&row.id).cloned().unwrap_or_default();
                let attached = files.get(&row.id).cloned().unwrap_or_default();
                row.into_message(its, attached)
            })
            .collect()
    }

    /// A message's texts, oldest first, the current one last; empty once deleted.
    pub async fn versions(&mut self, id: MessageId) -> StoreResult<Vec<MessageVersion>> {
        let rows = sqlx::query(
            "SELECT version, body, created_at_ms FROM message_versions WHERE message_id = $1 \
             UNION ALL \
             SELECT version, body, COALESCE(edited_at_ms, created_at_ms) FROM messages \
             WHERE id = $1 AND deleted_at_ms IS NULL \
             ORDER BY version",
        )
        .bind(id.0)
        .fetch_all(&mut *self.0)
        .await?;
        rows.iter()
            .map(|row| {
                let version: i64 = row.try_get("version")?;
                Ok(MessageVersion {
                    version: u32::try_from(version).unwrap_or(1),
                    body: row.try_get("body")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                })
            })
            .collect()
    }

    /// Everyone's read position in a conversation, furthest first.
    pub async fn readers(&mut self, conversation: ConversationId) -> StoreResult<Vec<Reader>> {
        sqlx::query(
            "SELECT r.user_id, u.display_name, r.last_read_seq FROM read_state r \
             JOIN users u ON u.id = r.user_id WHERE r.conversation_id = $1 \
             ORDER BY r.last_read_seq DESC, u.display_name",
        )
        .bind(conversation.0)
        .fetch_all(&mut *self.0)
        .await?
        .iter()
        .map(|row| {
            Ok(Reader {
                user_id: UserId(row.try_get("user_id")?),
                display_name: row.try_get("display_name")?,
                last_read_seq: row.try_get("last_read_seq")?,
            })
        })
        .collect()
    }

    /// The newest event's id (0 when there is none).
    pub async fn last_event_id(&mut self) -> StoreResult<EventId> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM events")
            .fetch_one(&mut *self.0)
            .await?;
        Ok(EventId(row.try_get("id")?))
    }

    /// How many message events each conversation has in `(after, upto]`.
    pub async fn message_events_between(
        &mut self,
        after: EventId,
        upto: EventId,
    ) -> StoreResult<Vec<(ConversationId, u64)>> {
        sqlx::query(
            "SELECT conversation_id, COUNT(*) AS n FROM events \
             WHERE id > $1 AND id <= $2 AND kind IN ('message', 'message_changed') \
             GROUP BY conversation_id",
        )
        .bind(after.0)
        .bind(upto.0)
        .fetch_all(&mut *self.0)
        .await?
        .iter()
        .map(|row| {
            let n: i64 = row.try_get("n")?;
            Ok((
                ConversationId(row.try_get("conversation_id")?),
                u64::try_from(n).unwrap_or_default(),
            ))
        })
        .collect()
    }

    /// The events in `(after, upto]`, oldest first, leaving out the message events of
    /// `skip` conversations.
    pub async fn events_between(
        &mut self,
        after: EventId,
        upto: EventId,
        skip: &[ConversationId],
    ) -> StoreResult<Vec<StoredEvent>> {
        // PostgreSQL refuses an empty `IN ()`.
        let skipped = if skip.is_empty() {
            String::new()
        } else {
            format!(
                "AND NOT (e.kind IN ('message', 'message_changed') AND e.conversation_id IN ({}))",
                id_list(skip.iter().map(|c| c.0))
            )
        };
        let sql = format!(
            "SELECT e.id AS event_id, e.kind, e.conversation_id AS event_conversation, \
                    e.user_id AS read_user, eu.display_name AS read_user_name, e.seq AS read_seq, \
                    {MESSAGE_SELECT} \
             FROM events e \
             LEFT JOIN messages m ON m.id = e.message_id LEFT JOIN users u ON u.id = m.sender_id \
             LEFT JOIN messages r ON r.id = m.reply_to LEFT JOIN users ru ON ru.id = r.sender_id \
             LEFT JOIN users eu ON eu.id = e.user_id \
             WHERE e.id > $1 AND e.id <= $2 {skipped} \
             ORDER BY e.id"
        );
        let rows = sqlx::query(&sql)
            .bind(after.0)
            .bind(upto.0)
            .fetch_all(&mut *self.0)
            .await?;
        // Message events are completed with their reactions in one query afterwards.
        let mut shapes = Vec::with_capacity(rows.len());
        let mut message_rows = Vec::new();
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let shape = match kind.as_str() {
                "message" | "message_changed" => {
                    message_rows.push(MessageRow::from_sqlx(row)?);
                    Shape::Message {
                        appended: kind == "message",
                    }
                }
                "read" => Shape::Ready(StoredEventKind::Read {
                    user_id: UserId(row.try_get("read_user")?),
                    name: row.try_get("read_user_name")?,
                    seq: row.try_get("read_seq")?,
                }),
                "conversation" => Shape::Ready(StoredEventKind::Conversation),
                "membership" => Shape::Ready(StoredEventKind::Membership {
                    user_id: row.try_get::<Option<i64>, _>("read_user")?.map(UserId),
                }),
                "mute" => Shape::Ready(StoredEventKind::Mute {
                    user_id: UserId(row.try_get("read_user")?),
                }),
                other => return Err(StoreError::Corrupt(format!("event kind {other}"))),
            };
            shapes.push((
                EventId(row.try_get("event_id")?),
                ConversationId(row.try_get("event_conversation")?),
                shape,
            ));
        }
        let mut messages = self.complete(message_rows).await?.into_iter();
        let mut events = Vec::with_capacity(shapes.len());
        for (id, conversation_id, shape) in shapes {
            let kind = match shape {
                Shape::Ready(kind) => kind,
                Shape::Message { appended } => {
                    let message = messages
                        .next()
                        .ok_or_else(|| StoreError::Corrupt("event without message".into()))?;
                    if appended {
                        StoredEventKind::Message(message)
                    } else {
                        StoredEventKind::MessageChanged(message)
                    }
                }
            };
            events.push(StoredEvent {
                id,
                conversation_id,
                kind,
            });
        }
        Ok(events)
    }
}
