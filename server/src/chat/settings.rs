//! What an admin sets at `/admin` — the edit window, message length, attachment limits,
//! retention, the connection mode — within the limits the operator configured, and the
//! retention sweep that deletes what is older than the admin chose to keep.
//!
//! The settings live in the database (`meta`) and, once read, in memory: every send
//! checks the message length, so it must not cost a query.

use std::sync::Arc;
use std::time::Duration;

use app::error::{ApiError, ErrorCode};
use app::model::{AdminSettings, ClientSettings, ConnectionMode, SettingsBounds, User};
use tokio_util::sync::CancellationToken;

use super::{Chat, internal};
use crate::clock::now_ms;
use crate::hub::Invalidation;
use crate::store::{Write, Written};

/// The `meta` key of the admin's connection-mode choice.
const CONNECTION_MODE: &str = "connection_mode";
/// The `meta` key of the admin's settings (JSON).
const SETTINGS: &str = "settings";
/// Where the edit window was kept before the other settings joined it (seconds).
const LEGACY_EDIT_WINDOW_SECS: &str = "edit_window_secs";
/// The longest edit window an admin may choose: a week.
const MAX_EDIT_WINDOW_SECS: i64 = 7 * 24 * 3600;
/// The longest retention an admin may choose (a longer one is "keep everything").
const MAX_RETENTION_DAYS: u32 = 36_500;
/// Messages deleted by the retention sweep per transaction, so writers wait briefly.
const PURGE_BATCH: u32 = 2_000;
const DAY_MS: i64 = 24 * 3600 * 1000;

impl Chat {
    /// The operator's limits, within which an admin chooses.
    pub fn settings_bounds(&self) -> SettingsBounds {
        SettingsBounds {
            max_edit_window_secs: MAX_EDIT_WINDOW_SECS,
            max_message_chars: self.limits.max_message_chars,
            max_attachment_bytes: self.limits.max_attachment_bytes,
            attachment_types: self.limits.attachment_types.clone(),
        }
    }

    /// The settings in force: the admin's, or the configured defaults.
    pub async fn settings(&self) -> Result<AdminSettings, ApiError> {
        if let Some(settings) = self.cached_settings() {
            return Ok(settings);
        }
        let stored = self.store.meta(SETTINGS).await.map_err(internal)?;
        let settings = match stored.and_then(|json| serde_json::from_str(&json).ok()) {
            Some(settings) => settings,
            None => {
                let legacy = self
                    .store
                    .meta(LEGACY_EDIT_WINDOW_SECS)
                    .await
                    .map_err(internal)?
                    .and_then(|s| s.parse::<i64>().ok());
                AdminSettings {
                    edit_window_secs: legacy.unwrap_or(self.limits.edit_window_ms / 1000),
                    max_message_chars: self.limits.max_message_chars,
                    max_attachment_bytes: self.limits.max_attachment_bytes,
                    attachment_types: self.limits.attachment_types.clone(),
                    retention_days: None,
                }
            }
        };
        *self.settings_cache() = Some(settings.clone());
        Ok(settings)
    }

    fn cached_settings(&self) -> Option<AdminSettings> {
        self.settings_cache().clone()
    }

    fn settings_cache(&self) -> std::sync::MutexGuard<'_, Option<AdminSettings>> {
        self.settings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admins only: new settings, checked against the operator's limits. Audited.
    pub async fn save_settings(&self, me: &User, wanted: AdminSettings) -> Result<(), ApiError> {
        Self::admin_only(me)?;
        let bounds = self.settings_bounds();
        let refuse = |message: String| Err(ApiError::new(ErrorCode::BadRequest, message));
        if !(0..=bounds.max_edit_window_secs).contains(&wanted.edit_window_secs) {
            return refuse(format!(
                "The edit window must be between 0 and {} seconds.",
                bounds.max_edit_window_secs
            ));
        }
        if !(1..=bounds.max_message_chars).contains(&wanted.max_message_chars) {
            return refuse(format!(
                "A message may be 1 to {} characters long at most.",
                bounds.max_message_chars
            ));
        }
        if !(1..=bounds.max_attachment_bytes).contains(&wanted.max_attachment_bytes) {
            return refuse(format!(
                "An attachment may be 1 to {} bytes at most.",
                bounds.max_attachment_bytes
            ));
        }
        if let Some(other) = wanted
            .attachment_types
            .iter()
            .find(|t| !bounds.attachment_types.contains(t))
        {
            return refuse(format!(
                "{other} is not among the file types this server accepts ({}).",
                bounds.attachment_types.join(", ")
            ));
        }
        if wanted
            .retention_days
            .is_some_and(|d| !(1..=MAX_RETENTION_DAYS).contains(&d))
        {
            return refuse(format!(
                "Keep messages 1 to {MAX_RETENTION_DAYS} days, or for ever."
            ));
        }
        let mut settings = wanted;
        settings.attachment_types.sort();
        settings.attachment_types.dedup();
        let json = serde_json::to_string(&settings).map_err(|_| ApiError::internal())?;
        self.store
            .set_meta(SETTINGS, &json)
            .await
            .map_err(internal)?;
        // Other nodes read them again; this one knows them.
        self.hub.invalidate(Invalidation::Settings);
        *self.settings_cache() = Some(settings.clone());
        self.store
            .record_audit(me.id, "settings_changed", None, None, now_ms())
            .await
            .map_err(internal)?;
        tracing::info!(admin = %me.username, ?settings, "settings changed");
        Ok(())
    }

    /// How long after sending its author may edit a message, in milliseconds.
    pub async fn edit_window_ms(&self) -> Result<i64, ApiError> {
        Ok(self.settings().await?.edit_window_secs.saturating_mul(1000))
    }

    /// Admins only: sets the edit window, in seconds (0 turns editing off).
    pub async fn set_edit_window(&self, me: &User, secs: i64) -> Result<(), ApiError> {
        let settings = AdminSettings {
            edit_window_secs: secs,
            ..self.settings().await?
        };
        self.save_settings(me, settings).await
    }

    pub async fn client_settings(&self) -> Result<ClientSettings, ApiError> {
        let settings = self.settings().await?;
        Ok(ClientSettings {
            connection_mode: self.connection_mode().await?,
            idle_after_ms: self.limits.idle_after_ms,
            max_message_chars: settings.max_message_chars,
            edit_window_ms: settings.edit_window_secs.saturating_mul(1000),
            max_attachment_bytes: settings.max_attachment_bytes,
            attachment_types: settings.attachment_types,
        })
    }

    pub async fn connection_mode(&self) -> Result<ConnectionMode, ApiError> {
        Ok(self
            .store
            .meta(CONNECTION_MODE)
            .await
            .map_err(internal)?
            .and_then(|m| ConnectionMode::parse(&m))
            .unwrap_or(self.limits.default_connection_mode))
    }

    /// Admins only: how browsers carry the live connection from their next page load.
    pub async fn set_connection_mode(
        &self,
        me: &User,
        mode: ConnectionMode,
    ) -> Result<(), ApiError> {
        Self::admin_only(me)?;
        self.store
            .set_meta(CONNECTION_MODE, mode.as_str())
            .await
            .map_err(internal)?;
        self.store
            .record_audit(me.id, "connection_mode_changed", None, None, now_ms())
            .await
            .map_err(internal)?;
        tracing::info!(admin = %me.username, mode = mode.as_str(), "connection mode changed");
        Ok(())
    }

    /// Deletes, for good, the messages older than the retention the admin chose (with
    /// their reactions, versions, mentions, events and attachments, and the files no
    /// longer attached to anything). Returns how many messages went.
    pub async fn purge_expired(&self) -> Result<u64, ApiError> {
        let Some(days) = self.settings().await?.retention_days else {
            return Ok(0);
        };
        let before_ms = now_ms() - i64::from(days) * DAY_MS;
        let mut total = 0;
        loop {
            let write = Write::Purge {
                before_ms,
                limit: PURGE_BATCH,
            };
            let Written::Purged { messages, blobs } = self
                .store
                .write(write, Box::new(|_| {}))
                .await
                .map_err(internal)?
            else {
                return Err(ApiError::internal());
            };
            total += messages;
            for hash in blobs {
                if let Err(error) = self.blobs.delete(&hash) {
                    tracing::warn!(%error, %hash, "could not delete an expired file");
                }
            }
            if messages < u64::from(PURGE_BATCH) {
                break;
            }
        }
        if total > 0 {
            // Cached audiences are unaffected; nothing else caches messages.
            tracing::info!(
                messages = total,
                days,
                "retention: expired messages deleted"
            );
        }
        Ok(total)
    }
}

/// Runs the retention sweep every `every` until `shutdown`.
pub async fn sweep_expired(chat: Arc<Chat>, every: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if let Err(error) = chat.purge_expired().await {
                    tracing::warn!(?error, "retention sweep failed");
                }
            }
            _ = shutdown.cancelled() => return,
        }
    }
}
