//! The durable event stream, as a reconnecting client's catch-up reads it.

use sqlx::Row;

use app::model::{ConversationId, EventId, UserId};

use super::SqliteStore;
use crate::store::rows::{MESSAGE_SELECT, MessageRow, id_list};
use crate::store::{Events, StoreError, StoreResult, StoredEvent, StoredEventKind};

/// An event row before its message (if any) has its reactions. Short-lived, one per row.
#[allow(clippy::large_enum_variant)]
enum Shape {
    /// Appended (`message`) or changed (`message_changed`).
    Message {
        appended: bool,
    },
    Ready(StoredEventKind),
}

#[async_trait::async_trait]
impl Events for SqliteStore {
    async fn last_event_id(&self) -> StoreResult<EventId> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM events")
            .fetch_one(&self.reader)
            .await?;
        Ok(EventId(row.try_get("id")?))
    }

    async fn message_events_between(
        &self,
        after: EventId,
        upto: EventId,
    ) -> StoreResult<Vec<(ConversationId, u64)>> {
        sqlx::query(
            "SELECT conversation_id, COUNT(*) AS n FROM events \
             WHERE id > ? AND id <= ? AND kind IN ('message', 'message_changed') \
             GROUP BY conversation_id",
        )
        .bind(after.0)
        .bind(upto.0)
        .fetch_all(&self.reader)
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

    async fn events_between(
        &self,
        after: EventId,
        upto: EventId,
        skip: &[ConversationId],
    ) -> StoreResult<Vec<StoredEvent>> {
        let skip_list = id_list(skip.iter().map(|c| c.0));
        let sql = format!(
            "SELECT e.id AS event_id, e.kind, e.conversation_id AS event_conversation, \
                    e.user_id AS read_user, eu.display_name AS read_user_name, e.seq AS read_seq, \
                    {MESSAGE_SELECT} \
             FROM events e \
             LEFT JOIN messages m ON m.id = e.message_id LEFT JOIN users u ON u.id = m.sender_id \
             LEFT JOIN messages r ON r.id = m.reply_to LEFT JOIN users ru ON ru.id = r.sender_id \
             LEFT JOIN users eu ON eu.id = e.user_id \
             WHERE e.id > ? AND e.id <= ? \
               AND NOT (e.kind IN ('message', 'message_changed') AND e.conversation_id IN ({skip_list})) \
             ORDER BY e.id"
        );
        let rows = sqlx::query(&sql)
            .bind(after.0)
            .bind(upto.0)
            .fetch_all(&self.reader)
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
        let mut messages = self.with_reactions(message_rows).await?.into_iter();
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
