//! Conversations and who they admit. Opening a direct conversation or an order thread
//! writes an event, so it goes through the writer (`writer/conversations.rs`).

use sqlx::Row;

use app::model::{Audience, ConversationId, OrganisationId, Role, UserId};
use app::rules::Actor;

use super::{MENTIONING, SqliteStore, UNREAD_MESSAGES};
use crate::store::rows::{
    ConversationParts, conversation_parts_sql, conversations_from_rows, id_list,
};
use crate::store::{Conversations, StoreResult, StoredConversation};

/// Which conversations a listing query returns.
enum Filter<'a> {
    /// These conversations (found by [`SqliteStore::listed_for`]).
    Ids(&'a [i64]),
    Id(ConversationId),
    Slug(&'a str),
    /// One conversation without anybody's read state: the cheap load for rule checks.
    Access(ConversationId),
}

impl SqliteStore {
    /// The ids of the conversations `viewer`'s list holds, each found through an index:
    /// the channels admitting their organisation and role (every channel for admins),
    /// their direct and group conversations, the order threads they follow (have read or
    /// written in) and the `recent_threads` most recently active other threads they may
    /// see. Never a scan of every conversation.
    async fn listed_for(&self, viewer: &Actor, recent_threads: u32) -> StoreResult<Vec<i64>> {
        self.ids_for(viewer, Some(recent_threads)).await
    }

    /// [`Self::listed_for`], or with `recent_threads` `None` every order thread `viewer`
    /// may see.
    async fn ids_for(&self, viewer: &Actor, recent_threads: Option<u32>) -> StoreResult<Vec<i64>> {
        let threads = match (recent_threads, viewer.role.is_internal()) {
            (Some(_), true) => {
                "SELECT id FROM (SELECT id FROM conversations WHERE kind = 'order' \
                 ORDER BY last_activity_ms DESC LIMIT ?5)"
            }
            (Some(_), false) => {
                "SELECT id FROM (SELECT c.id FROM conversation_organisations co \
                 JOIN conversations c ON c.id = co.conversation_id \
                 WHERE co.organisation_id = ?2 AND c.kind = 'order' \
                 ORDER BY c.last_activity_ms DESC LIMIT ?5)"
            }
            (None, true) => "SELECT id FROM conversations WHERE kind = 'order'",
            (None, false) => {
                "SELECT c.id FROM conversation_organisations co \
                 JOIN conversations c ON c.id = co.conversation_id \
                 WHERE co.organisation_id = ?2 AND c.kind = 'order'"
            }
        };
        let sql = format!(
            "SELECT id FROM conversations c WHERE kind = 'channel' AND (?4 OR ( \
                EXISTS (SELECT 1 FROM conversation_organisations co \
                        WHERE co.conversation_id = c.id AND co.organisation_id = ?2) \
                AND EXISTS (SELECT 1 FROM conversation_roles cr \
                        WHERE cr.conversation_id = c.id AND cr.role = ?3))) \
             UNION SELECT conversation_id FROM conversation_members WHERE user_id = ?1 \
             UNION SELECT r.conversation_id FROM read_state r \
                JOIN conversations c ON c.id = r.conversation_id AND c.kind = 'order' \
                WHERE r.user_id = ?1 \
             UNION {threads}"
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(viewer.id.0)
            .bind(viewer.organisation_id.0)
            .bind(viewer.role.as_str())
            .bind(viewer.role == Role::Admin)
            .bind(i64::from(recent_threads.unwrap_or(0)))
            .fetch_all(&self.reader)
            .await?)
    }

    async fn load_conversations(
        &self,
        viewer: UserId,
        filter: Filter<'_>,
    ) -> StoreResult<Vec<StoredConversation>> {
        let listed;
        let condition = match filter {
            Filter::Ids(ids) => {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                listed = format!("c.id IN ({})", id_list(ids.iter().copied()));
                listed.as_str()
            }
            Filter::Id(_) | Filter::Access(_) => "c.id = ?2",
            Filter::Slug(_) => "c.slug = ?2",
        };
        let read_state = if matches!(filter, Filter::Access(_)) {
            "0 AS last_read_seq, 0 AS unread, 0 AS mentions FROM conversations c".to_string()
        } else {
            format!(
                "COALESCE(r.last_read_seq, 0) AS last_read_seq, \
                 (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND {UNREAD_MESSAGES}) AS unread, \
                 (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND {UNREAD_MESSAGES} \
                    AND {MENTIONING}) AS mentions \
                 FROM conversations c \
                 LEFT JOIN read_state r ON r.conversation_id = c.id AND r.user_id = ?1"
            )
        };
        let sql = format!(
            "SELECT c.id, c.kind, c.slug, c.name, c.named, c.last_seq, \
                    c.archived_at_ms IS NOT NULL AS archived, {read_state} \
             WHERE {condition} ORDER BY c.id"
        );
        let mut query = sqlx::query(&sql).bind(viewer.0);
        query = match filter {
            Filter::Ids(_) => query,
            Filter::Id(id) | Filter::Access(id) => query.bind(id.0),
            Filter::Slug(slug) => query.bind(slug),
        };
        let rows = query.fetch_all(&self.reader).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        let [organisations, roles, members, newest] =
            conversation_parts_sql(&id_list(ids.iter().copied()));
        let parts = ConversationParts {
            organisations: sqlx::query_as(&organisations)
                .fetch_all(&self.reader)
                .await?,
            roles: sqlx::query_as(&roles).fetch_all(&self.reader).await?,
            members: sqlx::query_as(&members).fetch_all(&self.reader).await?,
            newest: sqlx::query_as(&newest).fetch_all(&self.reader).await?,
        };
        conversations_from_rows(&rows, parts)
    }
}

#[async_trait::async_trait]
impl Conversations for SqliteStore {
    async fn create_channel(
        &self,
        name: &str,
        organisations: &[OrganisationId],
        now_ms: i64,
    ) -> StoreResult<ConversationId> {
        let mut tx = self.writer.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (kind, slug, name, created_at_ms, last_activity_ms) \
             VALUES ('channel', ?, ?, ?3, ?3) RETURNING id",
        )
        .bind(name)
        .bind(name)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        for org in organisations {
            sqlx::query(
                "INSERT INTO conversation_organisations (conversation_id, organisation_id) \
                 VALUES (?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(org.0)
            .execute(&mut *tx)
            .await?;
        }
        for role in Role::ALL {
            sqlx::query("INSERT INTO conversation_roles (conversation_id, role) VALUES (?, ?)")
                .bind(id)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ConversationId(id))
    }

    async fn conversations_for(
        &self,
        viewer: &Actor,
        recent_threads: u32,
    ) -> StoreResult<Vec<StoredConversation>> {
        let ids = self.listed_for(viewer, recent_threads).await?;
        self.load_conversations(viewer.id, Filter::Ids(&ids)).await
    }

    async fn visible_ids(&self, viewer: &Actor) -> StoreResult<Vec<ConversationId>> {
        Ok(self
            .ids_for(viewer, None)
            .await?
            .into_iter()
            .map(ConversationId)
            .collect())
    }

    async fn conversation(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>> {
        Ok(self.load_conversations(viewer, Filter::Id(id)).await?.pop())
    }

    async fn conversation_access(&self, id: ConversationId) -> StoreResult<Option<Audience>> {
        Ok(self.conversation_plain(id).await?.map(|c| c.audience))
    }

    async fn conversation_plain(
        &self,
        id: ConversationId,
    ) -> StoreResult<Option<StoredConversation>> {
        Ok(self
            .load_conversations(UserId(0), Filter::Access(id))
            .await?
            .pop())
    }

    async fn conversation_by_slug(
        &self,
        slug: &str,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>> {
        Ok(self
            .load_conversations(viewer, Filter::Slug(slug))
            .await?
            .pop())
    }
}
