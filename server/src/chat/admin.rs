//! Administration: what `/admin` shows, creating channels (which appear live for
//! everyone they admit), and exporting a conversation as JSON or CSV. Admins only, by
//! [`rules::can_administer`]; creating and exporting are audited.

use app::error::{ApiError, ErrorCode};
use app::model::{
    AdminOverview, Audience, ChannelSettings, ConversationId, ConversationKind,
    ConversationSummary, IssuedPassword, Message, OrganisationId, Role, User, UserId,
    channel_title, validate_channel_name,
};
use app::protocol::ServerFrame;
use app::rules::{self, Action, Actor};

use super::{Chat, internal, publish_to_audience};
use crate::clock::now_ms;
use crate::hub::{Invalidation, Recipients};
use crate::store::{AfterCommit, Opened, SsoIdentity, SsoSignIn, Write, Written};

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
    pub(super) fn admin_only(me: &User) -> Result<(), ApiError> {
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
        Ok(AdminOverview {
            users: self.store.users().await.map_err(internal)?,
            organisations: self.store.organisations().await.map_err(internal)?,
            audit: self.store.audit_log(AUDIT_SHOWN).await.map_err(internal)?,
            settings: self.settings().await?,
            bounds: self.settings_bounds(),
            disabled: self.store.disabled_users().await.map_err(internal)?,
            connection_mode: self.connection_mode().await?,
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
        if !app::model::is_display_name(display_name) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "A display name has 1 to 100 characters, some of them visible.",
            ));
        }
        self.check_placement(role, organisation).await?;
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
            .record_audit(me.id, "user_created", None, Some(id), now_ms())
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

    /// Staff belong to the internal organisation; guests to an outside one.
    async fn check_placement(
        &self,
        role: Role,
        organisation: OrganisationId,
    ) -> Result<(), ApiError> {
        let organisations = self.store.organisations().await.map_err(internal)?;
        let Some(org) = organisations.iter().find(|o| o.id == organisation) else {
            return Err(ApiError::not_found("organisation"));
        };
        if !rules::placement_fits(role, org.kind == "internal") {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "Admins and members belong to the internal organisation; guests to a client or manufacturer.",
            ));
        }
        Ok(())
    }

    /// For an admin, the account of `user`, who is not `me` (`refusal` says why not).
    async fn other_account(
        &self,
        me: &User,
        user: UserId,
        refusal: &'static str,
    ) -> Result<User, ApiError> {
        Self::admin_only(me)?;
        if user == me.id {
            return Err(ApiError::new(ErrorCode::BadRequest, refusal));
        }
        self.store
            .user(user)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("user"))
    }

    /// Gives `user` another role or organisation. What they may see changes with it, so
    /// their sessions end and their live connections close: they sign in again into what
    /// the new role admits. Audited as a permission change.
    pub async fn change_user(
        &self,
        me: &User,
        user: UserId,
        role: Role,
        organisation: OrganisationId,
    ) -> Result<(), ApiError> {
        let account = self
            .other_account(me, user, "You cannot change your own role or organisation.")
            .await?;
        if account.role == role && account.organisation_id == organisation {
            return Ok(());
        }
        self.check_placement(role, organisation).await?;
        self.store
            .set_role(user, role, organisation)
            .await
            .map_err(internal)?;
        self.end_sessions_of(user).await?;
        self.store
            .record_audit(me.id, "user_role_changed", None, Some(user), now_ms())
            .await
            .map_err(internal)?;
        tracing::info!(admin = %me.username, user = %user, role = role.as_str(), "role changed");
        Ok(())
    }

    /// Signs in someone a host dashboard vouches for (a verified single sign-on token):
    /// makes or updates their account and organisation. When their role or organisation
    /// changed, their other sessions end, as when an admin changes them.
    pub async fn sso_sign_in(
        &self,
        identity: &SsoIdentity,
        nonce: &str,
        expires_at_ms: i64,
    ) -> Result<User, ApiError> {
        let outcome = self
            .store
            .sso_sign_in(identity, nonce, expires_at_ms, now_ms())
            .await
            .map_err(internal)?;
        let (user, created, access_changed) = match outcome {
            SsoSignIn::Replayed => {
                return Err(ApiError::new(
                    ErrorCode::Unauthenticated,
                    "This sign-in token was used already. Reload the page to get a new one.",
                ));
            }
            SsoSignIn::OrganisationKindDiffers => {
                return Err(ApiError::new(
                    ErrorCode::BadRequest,
                    "The token's organisation exists in Parley as another kind than its org_kind.",
                ));
            }
            SsoSignIn::Disabled => {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "This account is disabled in Parley.",
                ));
            }
            SsoSignIn::SignedIn {
                user,
                created,
                access_changed,
            } => (user, created, access_changed),
        };
        let action = if created {
            Some("user_created_by_sso")
        } else if access_changed {
            self.end_sessions_of(user.id).await?;
            Some("user_role_changed_by_sso")
        } else {
            None
        };
        if let Some(action) = action {
            self.store
                .record_audit(user.id, action, None, Some(user.id), now_ms())
                .await
                .map_err(internal)?;
        }
        Ok(user)
    }

    /// Disables an account (or enables it again): its sessions end and its live
    /// connections close at once.
    pub async fn set_user_disabled(
        &self,
        me: &User,
        user: UserId,
        disabled: bool,
    ) -> Result<(), ApiError> {
        self.other_account(me, user, "You cannot disable your own account.")
            .await?;
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
            .record_audit(me.id, action, None, Some(user), now_ms())
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
            .record_audit(me.id, "password_reset", None, Some(user), now_ms())
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

    /// A new channel admitting `roles` of `organisations`; everyone it admits gets it in
    /// their list at once.
    pub async fn create_channel(
        &self,
        me: &User,
        name: &str,
        organisations: &[OrganisationId],
        roles: &[Role],
    ) -> Result<ConversationSummary, ApiError> {
        Self::admin_only(me)?;
        let wanted = self
            .valid_channel(name, organisations, roles, false)
            .await?;
        let audience = Audience::channel(wanted.organisations.clone(), wanted.roles.clone());
        let hub = self.hub.clone();
        let announced = audience.clone();
        let title = channel_title(&wanted.name);
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
                            String::new(),
                            title.clone(),
                            announced.clone(),
                        ),
                    },
                );
            }
        });
        let write = Write::CreateChannel {
            name: wanted.name.clone(),
            organisations: wanted.organisations,
            roles: wanted.roles,
            actor: me.id,
            now_ms: now_ms(),
        };
        match self.store.write(write, announce).await.map_err(internal)? {
            Written::Opened(Opened {
                id,
                created: Some(_),
            }) => {
                tracing::info!(admin = %me.username, channel = %wanted.name, "channel created");
                self.summary_for(me, id).await
            }
            Written::NameTaken => Err(name_taken(&wanted.name)),
            _ => Err(ApiError::internal()),
        }
    }

    /// Renames, archives or unarchives a channel, or changes whom it admits: `change` is
    /// its whole new state. Whoever it now admits gets it (renamed, archived) in their
    /// list at once; whoever it no longer admits loses it at once.
    pub async fn change_channel(
        &self,
        me: &User,
        conversation: ConversationId,
        change: ChannelSettings,
    ) -> Result<ConversationSummary, ApiError> {
        Self::admin_only(me)?;
        let audience = self.checked(me, conversation, Action::See).await?;
        if audience.kind != ConversationKind::Channel {
            return Err(ApiError::not_found("channel"));
        }
        let wanted = self
            .valid_channel(
                &change.name,
                &change.organisations,
                &change.roles,
                change.archived,
            )
            .await?;
        let hub = self.hub.clone();
        let publish: AfterCommit = Box::new(move |written: &Written| {
            let Written::ChannelChanged(changed) = written else {
                return;
            };
            let Some(event_id) = changed.event_id else {
                return;
            };
            hub.invalidate(Invalidation::Conversation(conversation));
            let mut summary = Chat::fresh_summary(
                conversation,
                changed.slug.clone(),
                channel_title(&changed.name),
                changed.after.clone(),
            );
            summary.last_seq = changed.last_seq;
            publish_to_audience(
                &hub,
                &changed.after,
                &ServerFrame::Conversation {
                    event_id,
                    conversation: summary,
                },
            );
            hub.publish(
                Recipients::Leaving {
                    before: &changed.before,
                    after: &changed.after,
                },
                &ServerFrame::ConversationGone {
                    event_id,
                    conversation_id: conversation,
                },
            );
        });
        let write = Write::ChangeChannel {
            conversation,
            change: wanted.clone(),
            actor: me.id,
            now_ms: now_ms(),
        };
        match self.store.write(write, publish).await.map_err(internal)? {
            Written::ChannelChanged(_) => {
                tracing::info!(admin = %me.username, channel = %conversation, "channel changed");
                self.summary_for(me, conversation).await
            }
            Written::NameTaken => Err(name_taken(&wanted.name)),
            Written::Missing => Err(ApiError::not_found("channel")),
            _ => Err(ApiError::internal()),
        }
    }

    /// A channel's name, organisations and roles, checked: a valid name, known
    /// organisations, at least one organisation and one role.
    async fn valid_channel(
        &self,
        name: &str,
        organisations: &[OrganisationId],
        roles: &[Role],
        archived: bool,
    ) -> Result<ChannelSettings, ApiError> {
        let name = validate_channel_name(name)?;
        let known = self.store.organisations().await.map_err(internal)?;
        let mut organisations = organisations.to_vec();
        organisations.sort();
        organisations.dedup();
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
        let roles = Role::in_order(roles);
        if roles.is_empty() {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "Choose at least one role the channel admits.",
            ));
        }
        Ok(ChannelSettings {
            name,
            organisations,
            roles,
            archived,
        })
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
            .record_audit(
                me.id,
                "conversation_exported",
                Some(conversation),
                None,
                now_ms(),
            )
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

fn name_taken(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("There is already a channel called #{name}."),
    )
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
