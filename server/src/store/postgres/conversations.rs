//! Conversations and who they admit: the listing reads (opening a direct conversation or
//! a thread writes an event, so it belongs to the writer).

use sqlx::Row;

use app::model::{Audience, ConversationId, OrganisationId, Role, UserId};
use app::rules::Actor;

use super::{MENTIONING, PostgresStore, UNREAD_MESSAGES};
use crate::store::rows::{
    ConversationParts, conversation_parts_sql, conversations_from_rows, id_list,
};
use crate::store::{Conversations, StoreResult, StoredConversation};

/// Which conversations a listing query returns.
enum Filter<'a> {
    Ids(&'a [i64]),
    Id(ConversationId),
    Slug(&'a str),
    /// One conversation without anybody's read state: the cheap load for rule checks.
    Access(ConversationId),
}

impl PostgresStore {
    /// The ids of the conversations `viewer`'s list holds (as on SQLite: the channels
    /// admitting them, their direct and group conversations, the threads they follow
    /// and the `recent_threads` most recently active others), or with `None` every
    /// thread they may see.
    async fn ids_for(&self, viewer: &Actor, recent_threads: Option<u32>) -> StoreResult<Vec<i64>> {
        // `LIMIT NULL` is no limit.
        let threads = if viewer.role.is_internal() {
            "SELECT id FROM (SELECT id FROM conversations WHERE kind = 'order' \
             ORDER BY last_activity_ms DESC LIMIT $5) t"
        } else {
            "SELECT id FROM (SELECT c.id FROM conversation_organisations co \
             JOIN conversations c ON c.id = co.conversation_id \
             WHERE co.organisation_id = $2 AND c.kind = 'order' \
             ORDER BY c.last_activity_ms DESC LIMIT $5) t"
        };
        let sql = format!(
            "SELECT id FROM conversations c WHERE kind = 'channel' AND ($4 OR ( \
                EXISTS (SELECT 1 FROM conversation_organisations co \
                        WHERE co.conversation_id = c.id AND co.organisation_id = $2) \
                AND EXISTS (SELECT 1 FROM conversation_roles cr \
                        WHERE cr.conversation_id = c.id AND cr.role = $3))) \
             UNION SELECT conversation_id FROM conversation_members WHERE user_id = $1 \
             UNION SELECT r.conversation_id FROM read_state r \
                JOIN conversations c ON c.id = r.conversation_id AND c.kind = 'order' \
                WHERE r.user_id = $1 \
             UNION {threads}"
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(viewer.id.0)
            .bind(viewer.organisation_id.0)
            .bind(viewer.role.as_str())
            .bind(viewer.role == Role::Admin)
            .bind(recent_threads.map(i64::from))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn load_conversations(
        &self,
        viewer: UserId,
        filter: Filter<'_>,
    ) -> StoreResult<Vec<StoredConversation>> {
        let read_state = format!(
            "COALESCE(r.last_read_seq, 0) AS last_read_seq, \
             (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND {UNREAD_MESSAGES}) AS unread, \
             (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND {UNREAD_MESSAGES} \
                AND {MENTIONING}) AS mentions \
             FROM conversations c \
             LEFT JOIN read_state r ON r.conversation_id = c.id AND r.user_id = $1"
        );
        let select = |read_state: &str, condition: &str| {
            format!(
                "SELECT c.id, c.kind, c.slug, c.name, c.named, c.last_seq, \
                        c.archived_at_ms IS NOT NULL AS archived, {read_state} \
                 WHERE {condition} ORDER BY c.id"
            )
        };
        // PostgreSQL refuses a parameter the statement does not use, so each filter
        // binds exactly its own.
        let rows = match filter {
            Filter::Ids([]) => return Ok(Vec::new()),
            Filter::Ids(ids) => {
                let condition = format!("c.id IN ({})", id_list(ids.iter().copied()));
                sqlx::query(&select(&read_state, &condition))
                    .bind(viewer.0)
                    .fetch_all(&self.pool)
                    .await?
            }
            Filter::Id(id) => {
                sqlx::query(&select(&read_state, "c.id = $2"))
                    .bind(viewer.0)
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await?
            }
            Filter::Slug(slug) => {
                sqlx::query(&select(&read_state, "c.slug = $2"))
                    .bind(viewer.0)
                    .bind(slug)
                    .fetch_all(&self.pool)
                    .await?
            }
            Filter::Access(id) => {
                let nobody = "0::BIGINT AS last_read_seq, 0::BIGINT AS unread, \
                              0::BIGINT AS mentions FROM conversations c";
                sqlx::query(&select(nobody, "c.id = $1"))
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
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
            organisations: sqlx::query_as(&organisations).fetch_all(&self.pool).await?,
            roles: sqlx::query_as(&roles).fetch_all(&self.pool).await?,
            members: sqlx::query_as(&members).fetch_all(&self.pool).await?,
            newest: sqlx::query_as(&newest).fetch_all(&self.pool).await?,
        };
        conversations_from_rows(&rows, parts)
    }
}

#[async_trait::async_trait]
impl Conversations for PostgresStore {
    async fn create_channel(
        &self,
        name: &str,
        organisations: &[OrganisationId],
        now_ms: i64,
    ) -> StoreResult<ConversationId> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO conversations (kind, slug, name, created_at_ms, last_activity_ms) \
             VALUES ('channel', $1, $1, $2, $2) RETURNING id",
        )
        .bind(name)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        let organisations: Vec<i64> = organisations.iter().map(|o| o.0).collect();
        sqlx::query(
            "INSERT INTO conversation_organisations (conversation_id, organisation_id) \
             SELECT $1, o FROM UNNEST($2::BIGINT[]) o ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(&organisations)
        .execute(&mut *tx)
        .await?;
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        sqlx::query(
            "INSERT INTO conversation_roles (conversation_id, role) \
             SELECT $1, r FROM UNNEST($2::TEXT[]) r",
        )
        .bind(id)
        .bind(&roles)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ConversationId(id))
    }

    async fn conversations_for(
        &self,
        viewer: &Actor,
        recent_threads: u32,
    ) -> StoreResult<Vec<StoredConversation>> {
        let ids = self.ids_for(viewer, Some(recent_threads)).await?;
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
