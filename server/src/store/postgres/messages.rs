//! Messages as readers see them (the SQL shared with SQLite is in `store/reads.rs`), and
//! full-text search on PostgreSQL's `tsvector`: the same terms as FTS5 on SQLite, words
//! matching as prefixes, quoted phrases as phrases.

use sqlx::{Postgres, QueryBuilder, Row};

use app::model::{ConversationId, Message, MessageId, MessageVersion, Seq};
use app::search::Term;

use super::PostgresStore;
use crate::store::reads::SharedReads;
use crate::store::rows::{MESSAGE_JOINS, MESSAGE_SELECT, MessageRow, id_list, visible_condition};
use crate::store::{Messages, Reader, SNIPPET_END, SNIPPET_START, SearchFilter, StoreResult};

/// Appends to `query` a `tsquery` that all of `terms` must match, each bound as a
/// parameter (nothing a user types is query syntax): a word through `plainto_tsquery`
/// with every lexeme made a prefix, a phrase through `phraseto_tsquery`.
fn push_tsquery(query: &mut QueryBuilder<'_, Postgres>, terms: &[Term]) {
    query.push("(");
    for (i, term) in terms.iter().enumerate() {
        if i > 0 {
            query.push(" && ");
        }
        match term {
            Term::Word(word) => {
                query.push("to_tsquery('simple', regexp_replace(plainto_tsquery('simple', ");
                query.push_bind(word.clone());
                query.push(")::text, '''( |$)', ''':*\\1', 'g'))");
            }
            Term::Phrase(phrase) => {
                query.push("phraseto_tsquery('simple', ");
                query.push_bind(phrase.clone());
                query.push(")");
            }
        }
    }
    query.push(")");
}

#[async_trait::async_trait]
impl Messages for PostgresStore {
    async fn history(
        &self,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        SharedReads(&mut *self.pool.acquire().await?)
            .history(conversation, before, limit)
            .await
    }

    async fn message(&self, id: MessageId) -> StoreResult<Option<Message>> {
        SharedReads(&mut *self.pool.acquire().await?)
            .message(id)
            .await
    }

    async fn search(&self, filter: &SearchFilter) -> StoreResult<Vec<(Message, String)>> {
        let nowhere = filter.conversations.is_empty() && filter.visible_to.is_none();
        if nowhere || filter.senders.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Postgres>::new(format!("SELECT {MESSAGE_SELECT}, "));
        if filter.terms.is_empty() {
            query.push("substr(m.body, 1, 160)");
        } else {
            query.push("ts_headline('simple', m.body, q.q, ");
            query.push_bind(format!(
                "StartSel={SNIPPET_START}, StopSel={SNIPPET_END}, MaxWords=16, MinWords=6, \
                 MaxFragments=1, FragmentDelimiter=…"
            ));
            query.push(")");
        }
        query.push(format!(" AS snippet FROM messages m {MESSAGE_JOINS}"));
        if !filter.terms.is_empty() {
            query.push(" CROSS JOIN (SELECT ");
            push_tsquery(&mut query, &filter.terms);
            query.push(" AS q) q");
        }
        query.push(" WHERE m.deleted_at_ms IS NULL AND ");
        match &filter.visible_to {
            Some(viewer) => query.push(visible_condition(viewer, "m.conversation_id")),
            None => query.push(format!(
                "m.conversation_id IN ({})",
                id_list(filter.conversations.iter().map(|c| c.0))
            )),
        };
        if !filter.terms.is_empty() {
            query.push(" AND m.body_tsv @@ q.q");
        }
        if let Some(before) = filter.before_ms {
            query.push(" AND m.created_at_ms < ").push_bind(before);
        }
        if let Some(after) = filter.after_ms {
            query.push(" AND m.created_at_ms >= ").push_bind(after);
        }
        if let Some(senders) = &filter.senders {
            query.push(format!(
                " AND m.sender_id IN ({})",
                id_list(senders.iter().map(|u| u.0))
            ));
        }
        if filter.has_file {
            query.push(" AND EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)");
        }
        if filter.has_link {
            query.push(
                " AND (m.body ILIKE '%http://%' OR m.body ILIKE '%https://%' \
                 OR m.body ILIKE '%mailto:%')",
            );
        }
        // Newest first is highest id first (ids follow commit order).
        query
            .push(" ORDER BY m.id DESC LIMIT ")
            .push_bind(i64::from(filter.limit));
        let rows = query.build().fetch_all(&self.pool).await?;
        let snippets = rows
            .iter()
            .map(|row| row.try_get::<String, _>("snippet"))
            .collect::<Result<Vec<_>, _>>()?;
        let messages = SharedReads(&mut *self.pool.acquire().await?)
            .complete(
                rows.iter()
                    .map(MessageRow::from_sqlx)
                    .collect::<StoreResult<Vec<_>>>()?,
            )
            .await?;
        Ok(messages.into_iter().zip(snippets).collect())
    }

    async fn versions(&self, id: MessageId) -> StoreResult<Vec<MessageVersion>> {
        SharedReads(&mut *self.pool.acquire().await?)
            .versions(id)
            .await
    }

    async fn readers(&self, conversation: ConversationId) -> StoreResult<Vec<Reader>> {
        SharedReads(&mut *self.pool.acquire().await?)
            .readers(conversation)
            .await
    }

    async fn messages_after(
        &self,
        conversation: ConversationId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        SharedReads(&mut *self.pool.acquire().await?)
            .messages_after(conversation, after, limit)
            .await
    }
}
