//! Email notifications: who is owed an email about what (see [`Notifications`]).

use sqlx::Row;

use app::model::{ConversationId, Seq, UserId};

use super::PostgresStore;
use crate::store::rows::email_candidate_from_row;
use crate::store::{EmailCandidate, Notifications, StoreResult};

/// The most candidates one sweep takes; the rest wait for the next.
const MAX_CANDIDATES: i64 = 10_000;

#[async_trait::async_trait]
impl Notifications for PostgresStore {
    async fn email_candidates(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> StoreResult<Vec<EmailCandidate>> {
        let rows = sqlx::query(
            "SELECT u.id AS user_id, u.email, m.conversation_id, c.kind, c.slug, c.name, m.seq, \
                    s.display_name AS sender_name, m.body, m.created_at_ms \
             FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id \
             JOIN users s ON s.id = m.sender_id \
             JOIN users u ON u.id IN ( \
                 SELECT cm.user_id FROM conversation_members cm \
                  WHERE cm.conversation_id = m.conversation_id AND c.kind IN ('direct', 'group') \
                 UNION SELECT mn.user_id FROM mentions mn WHERE mn.message_id = m.id) \
             LEFT JOIN read_state r ON r.user_id = u.id AND r.conversation_id = m.conversation_id \
             LEFT JOIN email_sent e ON e.user_id = u.id AND e.conversation_id = m.conversation_id \
             WHERE m.created_at_ms BETWEEN $1 AND $2 \
               AND m.deleted_at_ms IS NULL \
               AND m.sender_id <> u.id \
               AND u.email IS NOT NULL AND u.email_notifications AND u.disabled_at_ms IS NULL \
               AND m.seq > COALESCE(r.last_read_seq, 0) \
               AND m.seq > COALESCE(e.through_seq, 0) \
             ORDER BY u.id, m.conversation_id, m.seq \
             LIMIT $3",
        )
        .bind(since_ms)
        .bind(until_ms)
        .bind(MAX_CANDIDATES)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(email_candidate_from_row).collect()
    }

    async fn mark_emailed(&self, user: UserId, sent: &[(ConversationId, Seq)]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for (conversation, seq) in sent {
            sqlx::query(
                "INSERT INTO email_sent (user_id, conversation_id, through_seq) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, conversation_id) \
                 DO UPDATE SET through_seq = GREATEST(email_sent.through_seq, excluded.through_seq)",
            )
            .bind(user.0)
            .bind(conversation.0)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn email_preferences(&self, user: UserId) -> StoreResult<(Option<String>, bool)> {
        let row = sqlx::query("SELECT email, email_notifications FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get("email")?, row.try_get("email_notifications")?))
    }

    async fn set_email_notifications(&self, user: UserId, enabled: bool) -> StoreResult<()> {
        sqlx::query("UPDATE users SET email_notifications = $1 WHERE id = $2")
            .bind(enabled)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_email(&self, user: UserId, email: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
            .bind(email)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
