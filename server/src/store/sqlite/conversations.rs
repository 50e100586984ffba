//! Conversations and who they admit. Opening a direct conversation or an order thread
//! writes an event, so it goes through the writer (`writer/conversations.rs`).

use std::collections::HashMap;

use sqlx::Row;

use app::model::{Audience, ConversationId, ConversationKind, OrganisationId, Role, UserId};

use super::rows::id_list;
use super::{MENTIONING, SqliteStore, UNREAD_MESSAGES};
use crate::store::{Conversations, StoreError, StoreResult, StoredConversation};

/// Which conversations a listing query returns.
enum Filter<'a> {
    VisibleTo,
    Id(ConversationId),
    Slug(&'a str),
    /// One conversation without anybody's read state: the cheap load for rule checks.
    Access(ConversationId),
}

impl SqliteStore {
    async fn load_conversations(
        &self,
        viewer: UserId,
        filter: Filter<'_>,
    ) -> StoreResult<Vec<StoredConversation>> {
        let condition = match filter {
            Filter::VisibleTo => {
                "c.kind IN ('channel', 'order') OR EXISTS (SELECT 1 FROM conversation_members cm \
                 WHERE cm.conversation_id = c.id AND cm.user_id = ?1)"
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
            Filter::VisibleTo => query,
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
        let id_list = id_list(ids.iter().copied());
        let mut organisations: HashMap<i64, Vec<OrganisationId>> = HashMap::new();
        for row in sqlx::query(&format!(
            "SELECT conversation_id, organisation_id FROM conversation_organisations \
             WHERE conversation_id IN ({id_list}) ORDER BY organisation_id"
        ))
        .fetch_all(&self.reader)
        .await?
        {
            organisations
                .entry(row.try_get("conversation_id")?)
                .or_default()
                .push(OrganisationId(row.try_get("organisation_id")?));
        }
        let mut roles: HashMap<i64, Vec<Role>> = HashMap::new();
        for row in sqlx::query(&format!(
            "SELECT conversation_id, role FROM conversation_roles \
             WHERE conversation_id IN ({id_list})"
        ))
        .fetch_all(&self.reader)
        .await?
        {
            let role: String = row.try_get("role")?;
            roles
                .entry(row.try_get("conversation_id")?)
                .or_default()
                .push(
                    Role::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
                );
        }
        for admitted in roles.values_mut() {
            admitted.sort_by_key(|r| Role::ALL.iter().position(|a| a == r));
        }
        let mut members: HashMap<i64, Vec<(UserId, String)>> = HashMap::new();
        for row in sqlx::query(&format!(
            "SELECT cm.conversation_id, u.id, u.display_name FROM conversation_members cm \
             JOIN users u ON u.id = cm.user_id WHERE cm.conversation_id IN ({id_list}) ORDER BY u.id"
        ))
        .fetch_all(&self.reader)
        .await?
        {
            members
                .entry(row.try_get("conversation_id")?)
                .or_default()
                .push((UserId(row.try_get("id")?), row.try_get("display_name")?));
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let kind: String = row.try_get("kind")?;
                let kind = ConversationKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("conversation kind {kind}")))?;
                let member_names = members.remove(&id).unwrap_or_default();
                let unread: i64 = row.try_get("unread")?;
                let mentions: i64 = row.try_get("mentions")?;
                Ok(StoredConversation {
                    id: ConversationId(id),
                    kind,
                    slug: row.try_get("slug")?,
                    name: row.try_get("name")?,
                    named: row.try_get("named")?,
                    last_seq: row.try_get("last_seq")?,
                    audience: Audience {
                        kind,
                        organisations: organisations.remove(&id).unwrap_or_default(),
                        members: member_names.iter().map(|(id, _)| *id).collect(),
                        roles: roles.remove(&id).unwrap_or_default(),
                        archived: row.try_get("archived")?,
                    },
                    member_names,
                    last_read_seq: row.try_get("last_read_seq")?,
                    unread: u32::try_from(unread).unwrap_or(u32::MAX),
                    mentions: u32::try_from(mentions).unwrap_or(u32::MAX),
                })
            })
            .collect()
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
            "INSERT INTO conversations (kind, slug, name, created_at_ms) \
             VALUES ('channel', ?, ?, ?) RETURNING id",
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

    async fn conversations_for(&self, viewer: UserId) -> StoreResult<Vec<StoredConversation>> {
        self.load_conversations(viewer, Filter::VisibleTo).await
    }

    async fn conversation(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> StoreResult<Option<StoredConversation>> {
        Ok(self.load_conversations(viewer, Filter::Id(id)).await?.pop())
    }

    async fn conversation_access(&self, id: ConversationId) -> StoreResult<Option<Audience>> {
        Ok(self
            .load_conversations(UserId(0), Filter::Access(id))
            .await?
            .pop()
            .map(|c| c.audience))
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
