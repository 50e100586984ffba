//! The audit log, and the organisations an admin chooses from.

use app::model::{AuditEntry, ConversationId, Organisation, UserId};

use super::SqliteStore;
use crate::store::rows::{audit_entry_from_row, organisation_from_row};
use crate::store::{Audit, StoreResult};

#[async_trait::async_trait]
impl Audit for SqliteStore {
    async fn record_audit(
        &self,
        actor: UserId,
        action: &str,
        conversation: Option<ConversationId>,
        subject: Option<UserId>,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (actor_id, action, conversation_id, subject_id, created_at_ms) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(actor.0)
        .bind(action)
        .bind(conversation.map(|c| c.0))
        .bind(subject.map(|s| s.0))
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        sqlx::query(
            "SELECT a.created_at_ms, actor.display_name AS actor, a.action, c.slug, a.message_id, \
                    subject.display_name AS subject \
             FROM audit_log a JOIN users actor ON actor.id = a.actor_id \
             LEFT JOIN conversations c ON c.id = a.conversation_id \
             LEFT JOIN users subject ON subject.id = a.subject_id \
             ORDER BY a.id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(audit_entry_from_row)
        .collect()
    }

    async fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        sqlx::query(
            "SELECT id, name, kind FROM organisations ORDER BY kind = 'internal' DESC, name",
        )
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(organisation_from_row)
        .collect()
    }
}
