//! Administration: what `/admin` shows, creating channels (which appear live for
//! everyone they admit), and exporting a conversation as JSON or CSV. Admins only, by
//! [`rules::can_administer`]; creating and exporting are audited.

use app::error::{ApiError, ErrorCode};
use app::model::{
    AdminOverview, Audience, ConversationId, ConversationKind, ConversationSummary, IssuedPassword,
    Message, OrganisationId, Role, User, UserId, validate_channel_name,
};
use app::protocol::ServerFrame;
use app::rules::{self, Action, Actor};

use super::{Chat, internal, publish_to_audience};
use crate::clock::now_ms;
use crate::store::{AfterCommit, Opened, Write, Written};

/// Audit entries `/admin` shows.
const AUDIT_SHOWN: u32 = 200;

/// The formats a conversation exports to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
}

/// An export, ready to download.
pub struct Export {
    pub file_name: String,
    pub content_type: &'static str,
    pub body: String,
}

impl Chat {
    fn admin_only(me: &User) -> Result<(), ApiError> {
        if rules::can_administer(&Actor::from(me)) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                "Only administrators may do that.",
            ))
        }
    }

    pub async fn admin_overview(&self, me: &User) -> Result<AdminOverview, ApiError> {
        Self::admin_only(me)?;
        let channels = self
            .visible_conversations(me)
            .await?
            .into_iter()
            .filter(|c| c.kind == ConversationKind::Channel)
            .map(|c| Self::summary(me, c))
            .collect();
        Ok(AdminOverview {
            users: self.store.users().await.map_err(internal)?,
            organisations: self.store.organisations().await.map_err(internal)?,
            channels,
            audit: self.store.audit_log(AUDIT_SHOWN).await.map_err(internal)?,
            edit_window_secs: self.edit_window_ms().await? / 1000,
            disabled: self.store.disabled_users().await.map_err(internal)?,
        })
    }

    /// A new account with a one-time password (shown once to the admin).
    pub async fn create_user(
        &self,
        me: &User,
        username: &str,
        display_name: &str,
        role: Role,
        organisation: OrganisationId,
    ) -> Result<IssuedPassword, ApiError> {
        Self::admin_only(me)?;
        let username = username.trim().to_lowercase();
        let display_name = display_name.trim();
        let valid_username = (1..=64).contains(&username.chars().count())
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_username {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "A username has 1 to 64 letters, digits, dots, hyphens and underscores.",
            ));
        }
        if !(1..=100).contains(&display_name.chars().count()) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "A display name has 1 to 100 characters.",
            ));
        }
        let organisations = self.store.organisations().await.map_err(internal)?;
        let Some(org) = organisations.iter().find(|o| o.id == organisation) else {
            return Err(ApiError::not_found("organisation"));
        };
        // Staff belong to the internal organisation; guests to an outside one.
        if role.is_internal() != (org.kind == "internal") {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "Admins and members belong to the internal organisation; guests to a client or manufacturer.",
            ));
        }
        let taken = self.store.users().await.map_err(internal)?;
        if taken.iter().any(|u| u.username == username) {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!("The username {username} is taken."),
            ));
        }
        let password = crate::auth::one_time_password();
        let id = self
            .store
            .create_user(crate::store::NewUser {
                username: username.clone(),
                display_name: display_name.to_string(),
                password_hash: crate::auth::hash_password(password.clone()).await,
                role,
                organisation_id: organisation,
                password_change_required: true,
            })
            .await
            .map_err(internal)?;
        self.store
            .record_audit(me.id, "user_created", None, now_ms())
            .await
            .map_err(internal)?;
        tracing::info!(admin = %me.username, user = %username, "user created");
        let user = self
            .store
            .user(id)
            .await
            .map_err(internal)?
            .ok_or_else(ApiError::internal)?;
        Ok(IssuedPassword { user, password })
    }

    /// Disables an account (or enables it again): its sessions end and its live
    /// connections close at once.
    pub async fn set_user_disabled(
        &self,
        me: &User,
        user: UserId,
        disabled: bool,
    ) -> Result<(), ApiError> {
        Self::admin_only(me)?;
        if user == me.id {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "You cannot disable your own account.",
            ));
        }
        self.store
            .user(user)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("user"))?;
        self.store
            .set_disabled(user, disabled.then(now_ms))
            .await
            .map_err(internal)?;
        if disabled {
            self.end_sessions_of(user).await?;
        }
        let action = if disabled {
            "user_disabled"
        } else {
            "user_enabled"
        };
        self.store
            .record_audit(me.id, action, None, now_ms())
            .await
            .map_err(internal)?;
        tracing::info!(admin = %me.username, user = %user, action, "account changed");
        Ok(())
    }

    /// A new one-time password for `user`; their sessions end.
    pub async fn reset_password(
        &self,
        me: &User,
        user: UserId,
    ) -> Result<IssuedPassword, ApiError> {
        Self::admin_only(me)?;
        let account = self
            .store
            .user(user)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("user"))?;
        let password = crate::auth::one_time_password();
        self.store
            .set_one_time_password(user, &crate::auth::hash_password(password.clone()).await)
            .await
            .map_err(internal)?;
        self.end_sessions_of(user).await?;
        self.store
            .record_audit(me.id, "password_reset", None, now_ms())
            .await
            .map_err(internal)?;
        Ok(IssuedPassword {
            user: account,
            password,
        })
    }

    /// Ends every session of `user` and closes the live connections opened with them.
    async fn end_sessions_of(&self, user: UserId) -> Result<(), ApiError> {
        let sessions = self
            .store
            .delete_user_sessions(user)
            .await
            .map_err(internal)?;
        for session in &sessions {
            self.hub.end_session(session);
        }
        Ok(())
    }

    /// A new channel admitting `organisations`; everyone it admits gets it in their
    /// list at once.
    pub async fn create_channel(
        &self,
        me: &User,
        name: &str,
        organisations: &[OrganisationId],
    ) -> Result<ConversationSummary, ApiError> {
        Self::admin_only(me)?;
        let name = validate_channel_name(name)?;
        let known = self.store.organisations().await.map_err(internal)?;
        if organisations.is_empty()
            || organisations
                .iter()
                .any(|o| !known.iter().any(|k| k.id == *o))
        {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "Choose at least one organisation the channel admits.",
            ));
        }
        let audience = Audience {
            kind: ConversationKind::Channel,
            organisations: organisations.to_vec(),
            members: vec![],
        };
        let hub = self.hub.clone();
        let announced = audience.clone();
        let title = format!("#{name}");
        let slug = name.clone();
        let announce: AfterCommit = Box::new(move |written: &Written| {
            if let Written::Opened(Opened {
                id,
                created: Some(event_id),
            }) = written
            {
                publish_to_audience(
                    &hub,
                    &announced,
                    &ServerFrame::Conversation {
                        event_id: *event_id,
                        conversation: Chat::fresh_summary(
                            *id,
                            slug.clone(),
                            title.clone(),
                            announced.clone(),
                        ),
                    },
                );
            }
        });
        let write = Write::CreateChannel {
            name: name.clone(),
            organisations: audience.organisations.clone(),
            actor: me.id,
            now_ms: now_ms(),
        };
        match self.store.write(write, announce).await.map_err(internal)? {
            Written::Opened(Opened {
                id,
                created: Some(_),
            }) => {
                tracing::info!(admin = %me.username, channel = %name, "channel created");
                self.summary_for(me, id).await
            }
            Written::Opened(_) => Err(ApiError::new(
                ErrorCode::Conflict,
                format!("There is already a conversation called {name}."),
            )),
            _ => Err(ApiError::internal()),
        }
    }

    /// Every message of a conversation as JSON or CSV, for an admin who can see it.
    /// Deleted messages keep their place without their text. Audited.
    pub async fn export(
        &self,
        me: &User,
        conversation: ConversationId,
        format: ExportFormat,
    ) -> Result<Export, ApiError> {
        Self::admin_only(me)?;
        self.checked(me, conversation, Action::See).await?;
        let summary = self.summary_for(me, conversation).await?;
        let messages = self
            .store
            .messages_after(conversation, 0, u32::MAX)
            .await
            .map_err(internal)?;
        self.store
            .record_audit(me.id, "conversation_exported", Some(conversation), now_ms())
            .await
            .map_err(internal)?;
        tracing::info!(admin = %me.username, conversation = %conversation, "conversation exported");
        let stem = format!("parley-{}", summary.slug);
        Ok(match format {
            ExportFormat::Json => Export {
                file_name: format!("{stem}.json"),
                content_type: "application/json",
                body: serde_json::to_string_pretty(&serde_json::json!({
                    "conversation": summary,
                    "messages": messages,
                }))
                .map_err(|_| ApiError::internal())?,
            },
            ExportFormat::Csv => Export {
                file_name: format!("{stem}.csv"),
                content_type: "text/csv; charset=utf-8",
                body: to_csv(&messages),
            },
        })
    }
}

/// One row per message: seq, id, time, sender, text, edited, deleted, reply to.
fn to_csv(messages: &[Message]) -> String {
    let mut out = String::from("seq,id,sent_at_ms,sender,body,version,deleted,reply_to\r\n");
    for m in messages {
        let fields = [
            m.seq.to_string(),
            m.id.to_string(),
            m.created_at_ms.to_string(),
            m.sender_name.clone(),
            m.body.clone(),
            m.version.to_string(),
            m.deleted.to_string(),
            m.reply_to
                .as_ref()
                .map(|q| q.id.to_string())
                .unwrap_or_default(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A CSV field (RFC 4180): quoted, inner quotes doubled. A leading `=`, `+`, `-` or `@`
/// is prefixed with `'` so a spreadsheet does not run it as a formula.
fn csv_field(field: &str) -> String {
    let safe = if field.starts_with(['=', '+', '-', '@']) && field.parse::<f64>().is_err() {
        format!("'{field}")
    } else {
        field.to_string()
    };
    format!("\"{}\"", safe.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("say \"hi\", ok"), "\"say \"\"hi\"\", ok\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-12"), "\"-12\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }
}
