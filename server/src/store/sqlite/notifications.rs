//! Email notifications: who is owed an email about what (see [`Notifications`]).

use sqlx::Row;

use app::model::{ConversationId, Seq, UserId};

use super::SqliteStore;
use crate::store::rows::email_candidate_from_row;
use crate::store::{EmailCandidate, Notifications, StoreResult};

/// The most candidates one sweep takes; the rest wait for the next.
const MAX_CANDIDATES: i64 = 10_000;

#[async_trait::async_trait]
impl Notifications for SqliteStore {
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
             WHERE m.created_at_ms BETWEEN ? AND ? \
               AND m.deleted_at_ms IS NULL \
               AND m.sender_id <> u.id \
               AND u.email IS NOT NULL AND u.email_notifications = 1 AND u.disabled_at_ms IS NULL \
               AND m.seq > COALESCE(r.last_read_seq, 0) \
               AND m.seq > COALESCE(e.through_seq, 0) \
             ORDER BY u.id, m.conversation_id, m.seq \
             LIMIT ?",
        )
        .bind(since_ms)
        .bind(until_ms)
        .bind(MAX_CANDIDATES)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(email_candidate_from_row).collect()
    }

    async fn mark_emailed(&self, user: UserId, sent: &[(ConversationId, Seq)]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        for (conversation, seq) in sent {
            sqlx::query(
                "INSERT INTO email_sent (user_id, conversation_id, through_seq) VALUES (?, ?, ?) \
                 ON CONFLICT (user_id, conversation_id) \
                 DO UPDATE SET through_seq = max(through_seq, excluded.through_seq)",
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
        let row = sqlx::query("SELECT email, email_notifications FROM users WHERE id = ?")
            .bind(user.0)
            .fetch_one(&self.reader)
            .await?;
        Ok((row.try_get("email")?, row.try_get("email_notifications")?))
    }

    async fn set_email_notifications(&self, user: UserId, enabled: bool) -> StoreResult<()> {
        sqlx::query("UPDATE users SET email_notifications = ? WHERE id = ?")
            .bind(enabled)
            .bind(user.0)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn set_email(&self, user: UserId, email: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET email = ? WHERE id = ?")
            .bind(email)
            .bind(user.0)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
