//! Messages as readers see them: history pages, one message, its edit history, and who
//! has read how far. Appends, edits, deletes and reactions are writes with events: they
//! go through the writer (`writer/`).

use sqlx::Row;

use app::model::{ConversationId, Message, MessageId, MessageVersion, Seq};

use super::SqliteStore;
use crate::store::reads::SharedReads;
use crate::store::rows::{MESSAGE_JOINS, MESSAGE_SELECT, MessageRow, id_list};
use crate::store::{Messages, Reader, SNIPPET_END, SNIPPET_START, SearchFilter, StoreResult};

#[async_trait::async_trait]
impl Messages for SqliteStore {
    async fn history(
        &self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        SharedReads(&mut *self.reader.acquire().await?)
            .history(conversation, before, limit)
            .await
    }

    async fn message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        SharedReads(&mut *self.reader.acquire().await?)
            .message(id)
            .await
    }

    async fn search(&self, filter: &SearchFilter) -> StoreResult<Vec<(Message, String)>> {
        let nowhere = filter.conversations.is_empty() && filter.visible_to.is_none();
        if nowhere || filter.senders.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let within = match &filter.visible_to {
            Some(viewer) => crate::store::rows::visible_condition(viewer, "m.conversation_id"),
            None => format!(
                "m.conversation_id IN ({})",
                id_list(filter.conversations.iter().map(|c| c.0))
            ),
        };
        let mut conditions = vec![
            "m.deleted_at_ms IS NULL".to_string(),
            within,
            "m.created_at_ms < ?2 AND m.created_at_ms >= ?3".to_string(),
        ];
        if let Some(senders) = &filter.senders {
            conditions.push(format!(
                "m.sender_id IN ({})",
                id_list(senders.iter().map(|u| u.0))
            ));
        }
        if filter.has_file {
            conditions
                .push("EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)".to_string());
        }
        if filter.has_link {
            conditions.push(
                "(m.body LIKE '%http://%' OR m.body LIKE '%https://%' OR m.body LIKE '%mailto:%')"
                    .to_string(),
            );
        }
        // Newest first is highest id first (ids follow commit order). With words to find,
        // the index is walked in that order, so the search stops at the limit instead of
        // sorting every match (a common word in a million messages: 114 → 22 ms).
        let text = app::search::fts5(&filter.terms);
        let (source, snippet, order) = match text {
            Some(_) => {
                conditions.push("messages_fts MATCH ?1".to_string());
                (
                    "messages_fts JOIN messages m ON m.id = messages_fts.rowid",
                    format!(
                        "snippet(messages_fts, 0, '{SNIPPET_START}', '{SNIPPET_END}', '…', 16)"
                    ),
                    "messages_fts.rowid DESC",
                )
            }
            None => (
                "messages m",
                "substr(m.body, 1, 160)".to_string(),
                "m.id DESC",
            ),
        };
        let sql = format!(
            "SELECT {MESSAGE_SELECT}, {snippet} AS snippet FROM {source} {MESSAGE_JOINS} \
             WHERE ?1 IS NOT NULL AND {} ORDER BY {order} LIMIT ?4",
            conditions.join(" AND ")
        );
        let rows = sqlx::query(&sql)
            .bind(text.unwrap_or_default())
            .bind(filter.before_ms.unwrap_or(i64::MAX))
            .bind(filter.after_ms.unwrap_or(i64::MIN))
            .bind(i64::from(filter.limit))
            .fetch_all(&self.reader)
            .await?;
        let snippets = rows
            .iter()
            .map(|row| row.try_get::<String, _>("snippet"))
            .collect::<Result<Vec<_>, _>>()?;
        let messages = SharedReads(&mut *self.reader.acquire().await?)
            .complete(
                rows.iter()
                    .map(MessageRow::from_sqlx)
                    .collect::<StoreResult<Vec<_>>>()?,
            )
            .await?;
        Ok(messages.into_iter().zip(snippets).collect())
    }

    async fn versions(&self, id: MessageId) -> StoreResult<Vec<MessageVersion>> {
        SharedReads(&mut *self.reader.acquire().await?)
            .versions(id)
            .await
    }

    async fn readers(&self, conversation: ConversationId) -> StoreResult<Vec<Reader>> {
        SharedReads(&mut *self.reader.acquire().await?)
            .readers(conversation)
            .await
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        SharedReads(&mut *self.reader.acquire().await?)
            .messages_after(conversation, after, limit)
            .await
    }
}
