//! Attachments: an upload is checked (who may post here, size, type, that an image is
//! one), its bytes stored by hash and, for an image, a thumbnail made on the server; a
//! message then takes the uploads of its sender in its conversation. A file is served
//! only to whoever may see its conversation (an upload not yet sent, to its uploader
//! only), and never once its message is deleted.

use app::error::{ApiError, ErrorCode};
use app::model::{Attachment, AttachmentId, ConversationId, User};
use app::rules::Action;

use super::{Chat, internal};
use crate::clock::now_ms;
use crate::files;
use crate::store::NewAttachment;

/// A file to send to a browser.
pub struct FileBody {
    pub attachment: Attachment,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Longest attachment name kept, in characters.
const MAX_NAME_CHARS: usize = 200;

impl Chat {
    /// The largest upload the server reads at all (the admin may choose less).
    pub fn max_attachment_bytes(&self) -> u64 {
        self.limits.max_attachment_bytes
    }

    /// Stores an upload of `me`'s to `conversation`.
    pub async fn upload(
        &self,
        me: &User,
        conversation: ConversationId,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Attachment, ApiError> {
        self.checked(me, conversation, Action::Post).await?;
        let settings = self.settings().await?;
        let size = bytes.len() as u64;
        if size > settings.max_attachment_bytes {
            return Err(too_large(settings.max_attachment_bytes));
        }
        if size == 0 {
            return Err(ApiError::new(ErrorCode::BadRequest, "The file is empty."));
        }
        let content_type = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !settings.attachment_types.contains(&content_type) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                if settings.attachment_types.is_empty() {
                    "Attachments are turned off.".to_string()
                } else {
                    format!(
                        "Files of type {content_type} cannot be attached. Allowed: {}.",
                        settings.attachment_types.join(", ")
                    )
                },
            ));
        }
        let name = clean_name(name);
        let image = content_type.starts_with("image/");
        let blobs = self.blobs.clone();
        let stored = tokio::task::spawn_blocking(move || {
            let thumbnail = if image {
                Some(files::thumbnail(&bytes).ok_or(())?)
            } else {
                None
            };
            let hash = blobs.put(&bytes).map_err(|_| ())?;
            let thumbnail = match thumbnail {
                Some((jpeg, w, h)) => Some((blobs.put(&jpeg).map_err(|_| ())?, w, h)),
                None => None,
            };
            Ok::<_, ()>((hash, thumbnail))
        })
        .await
        .map_err(|_| ApiError::internal())?;
        let Ok((hash, thumbnail)) = stored else {
            return Err(if image {
                ApiError::new(
                    ErrorCode::BadRequest,
                    "This is not an image Parley can read.",
                )
            } else {
                ApiError::internal()
            });
        };
        self.store
            .insert_attachment(NewAttachment {
                conversation_id: conversation,
                uploader_id: me.id,
                name,
                content_type,
                size,
                hash,
                thumbnail,
                created_at_ms: now_ms(),
            })
            .await
            .map_err(internal)
    }

    /// Checks that `ids` are `me`'s uploads to `conversation` that no message took yet.
    pub(super) async fn check_uploads(
        &self,
        me: &User,
        conversation: ConversationId,
        ids: &[AttachmentId],
    ) -> Result<(), ApiError> {
        for id in ids {
            let stored = self.store.attachment(*id).await.map_err(internal)?;
            let usable = stored.is_some_and(|s| {
                s.uploader_id == me.id
                    && s.conversation_id == conversation
                    && s.message_id.is_none()
            });
            if !usable {
                return Err(ApiError::not_found("attachment"));
            }
        }
        Ok(())
    }

    /// A file (or its thumbnail) for `me`, if `me` may see it.
    pub async fn file(
        &self,
        me: &User,
        id: AttachmentId,
        thumbnail: bool,
    ) -> Result<FileBody, ApiError> {
        let stored = self
            .store
            .attachment(id)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("file"))?;
        self.checked(me, stored.conversation_id, Action::See)
            .await
            .map_err(|_| ApiError::not_found("file"))?;
        if stored.message_id.is_none() && stored.uploader_id != me.id {
            return Err(ApiError::not_found("file"));
        }
        let (hash, content_type) = if thumbnail {
            (
                stored
                    .thumb_hash
                    .ok_or_else(|| ApiError::not_found("thumbnail"))?,
                "image/jpeg".to_string(),
            )
        } else {
            (stored.hash, stored.attachment.content_type.clone())
        };
        let blobs = self.blobs.clone();
        let bytes = tokio::task::spawn_blocking(move || blobs.get(&hash))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|e| {
                tracing::error!(error = %e, file = %id, "attachment bytes missing");
                ApiError::internal()
            })?;
        Ok(FileBody {
            attachment: stored.attachment,
            content_type,
            bytes,
        })
    }
}

pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::FrameTooLarge,
        format!("Files may be at most {}.", human_size(limit)),
    )
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MB", bytes >> 20)
    } else {
        format!("{} KB", (bytes >> 10).max(1))
    }
}

/// A file name without any path, control characters or quotes, at most
/// [`MAX_NAME_CHARS`] characters; "file" when nothing is left.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\'))
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "file".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_quotes() {
        assert_eq!(clean_name("C:\\\\photos\\\\pallet 3.jpg"), "pallet 3.jpg");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\"b\n.png"), "ab.png");
        assert_eq!(clean_name("..."), "file");
        assert_eq!(human_size(10 << 20), "10 MB");
    }
}
