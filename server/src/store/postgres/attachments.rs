//! Uploaded files' rows (their bytes are in the blob store, by hash).

use app::model::{Attachment, AttachmentId};

use super::PostgresStore;
use crate::store::rows::{ATTACHMENT_COLUMNS, attachment_from, stored_attachment_from_row};
use crate::store::{Attachments, NewAttachment, StoreResult, StoredAttachment};

#[async_trait::async_trait]
impl Attachments for PostgresStore {
    async fn insert_attachment(&self, new: NewAttachment) -> StoreResult<Attachment> {
        let (thumb_hash, width, height) = match &new.thumbnail {
            Some((hash, w, h)) => (
                Some(hash.as_str()),
                Some(i64::from(*w)),
                Some(i64::from(*h)),
            ),
            None => (None, None, None),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO attachments (conversation_id, uploader_id, name, content_type, size, \
             hash, thumb_hash, width, height, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(new.conversation_id.0)
        .bind(new.uploader_id.0)
        .bind(&new.name)
        .bind(&new.content_type)
        .bind(i64::try_from(new.size).unwrap_or(i64::MAX))
        .bind(&new.hash)
        .bind(thumb_hash)
        .bind(width)
        .bind(height)
        .bind(new.created_at_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(attachment_from(
            id,
            new.name,
            new.content_type,
            i64::try_from(new.size).unwrap_or(i64::MAX),
            width,
            height,
        ))
    }

    async fn attachment(&self, id: AttachmentId) -> StoreResult<Option<StoredAttachment>> {
        let row = sqlx::query(&format!(
            "SELECT {ATTACHMENT_COLUMNS}, a.conversation_id, a.uploader_id, a.hash, a.thumb_hash \
             FROM attachments a WHERE a.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(stored_attachment_from_row).transpose()
    }
}
