//! Users, organisations and sessions.

use sqlx::Row;

use app::model::{ConversationId, OrganisationId, Role, Theme, User, UserId};

use super::PostgresStore;
use crate::config::Secret;
use crate::store::rows::{USER_COLUMNS, user_from_row};
use crate::store::{
    Accounts, NewUser, OrganisationKind, SSO_ONLY_PASSWORD_HASH, SsoIdentity, SsoSignIn,
    StoreError, StoreResult,
};

#[async_trait::async_trait]
impl Accounts for PostgresStore {
    async fn user_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_organisation(
        &self,
        name: &str,
        kind: OrganisationKind,
    ) -> StoreResult<OrganisationId> {
        let id = sqlx::query_scalar(
            "INSERT INTO organisations (name, kind) VALUES ($1, $2) RETURNING id",
        )
        .bind(name)
        .bind(kind.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(OrganisationId(id))
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<UserId> {
        let id = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, role, organisation_id, \
             password_change_required, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id",
        )
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(user.password_hash.expose_str())
        .bind(user.role.as_str())
        .bind(user.organisation_id.0)
        .bind(user.password_change_required)
        .bind(crate::clock::now_ms())
        .fetch_one(&self.pool)
        .await?;
        Ok(UserId(id))
    }

    async fn credentials(&self, username: &str) -> StoreResult<Option<(User, Secret)>> {
        let row = sqlx::query(&format!(
            "SELECT u.password_hash, {USER_COLUMNS} \
             WHERE u.username = $1 AND u.disabled_at_ms IS NULL"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                user_from_row(&row)?,
                Secret::new(row.try_get::<String, _>("password_hash")?),
            ))
        })
        .transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.users_where("TRUE").await
    }

    async fn active_users(&self) -> StoreResult<Vec<User>> {
        self.users_where("u.disabled_at_ms IS NULL AND NOT u.password_change_required")
            .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} WHERE u.id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(User, bool)>> {
        let row = sqlx::query(&format!(
            "SELECT u.password_change_required, {USER_COLUMNS} \
             JOIN sessions s ON s.user_id = u.id \
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2 AND u.disabled_at_ms IS NULL"
        ))
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                user_from_row(&row)?,
                row.try_get("password_change_required")?,
            ))
        })
        .transpose()
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &Secret,
        keep: &str,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, password_change_required = FALSE WHERE id = $2",
        )
        .bind(password_hash.expose_str())
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
        let ended = sqlx::query_scalar(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2 RETURNING token_hash",
        )
        .bind(user.0)
        .bind(keep)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now_ms: i64) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "DELETE FROM sessions WHERE expires_at_ms <= $1 RETURNING token_hash",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING token_hash")
                .bind(user.0)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn set_disabled(&self, user: UserId, disabled_at_ms: Option<i64>) -> StoreResult<()> {
        sqlx::query("UPDATE users SET disabled_at_ms = $1 WHERE id = $2")
            .bind(disabled_at_ms)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn disabled_users(&self) -> StoreResult<Vec<UserId>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE disabled_at_ms IS NOT NULL ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    async fn set_role(
        &self,
        user: UserId,
        role: Role,
        organisation: OrganisationId,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE users SET role = $1, organisation_id = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(organisation.0)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_one_time_password(&self, user: UserId, password_hash: &Secret) -> StoreResult<()> {
        sqlx::query(
            "UPDATE users SET password_hash = $1, password_change_required = TRUE WHERE id = $2",
        )
        .bind(password_hash.expose_str())
        .bind(user.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sso_sign_in(
        &self,
        identity: &SsoIdentity,
        nonce: &str,
        nonce_expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<SsoSignIn> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sso_nonces WHERE expires_at_ms < $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let fresh = sqlx::query(
            "INSERT INTO sso_nonces (nonce, expires_at_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(nonce)
        .bind(nonce_expires_at_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !fresh {
            return Ok(SsoSignIn::Replayed);
        }
        let kind = identity.organisation_kind.as_str();
        // Two nodes may make the same new organisation at once: the second one's insert
        // does nothing and the select finds the first one's.
        sqlx::query(
            "INSERT INTO organisations (name, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&identity.organisation)
        .bind(kind)
        .execute(&mut *tx)
        .await?;
        let (organisation, stored): (i64, String) =
            sqlx::query_as("SELECT id, kind FROM organisations WHERE name = $1")
                .bind(&identity.organisation)
                .fetch_one(&mut *tx)
                .await?;
        if stored != kind {
            // The organisation was there already (the insert did nothing): only the
            // nonce is spent.
            tx.commit().await?;
            return Ok(SsoSignIn::OrganisationKindDiffers);
        }
        let existing: Option<(i64, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT u.id, u.display_name, u.role, u.organisation_id, u.disabled_at_ms \
             FROM sso_identities s JOIN users u ON u.id = s.user_id WHERE s.subject = $1 \
             FOR UPDATE OF u",
        )
        .bind(&identity.subject)
        .fetch_optional(&mut *tx)
        .await?;
        let role = identity.role.as_str();
        let (id, created, access_changed) = match existing {
            Some((_, _, _, _, Some(_disabled))) => {
                tx.commit().await?;
                return Ok(SsoSignIn::Disabled);
            }
            Some((id, name, stored_role, stored_org, None)) => {
                let access_changed = stored_role != role || stored_org != organisation;
                if access_changed || name != identity.display_name {
                    sqlx::query(
                        "UPDATE users SET display_name = $1, role = $2, organisation_id = $3 \
                         WHERE id = $4",
                    )
                    .bind(&identity.display_name)
                    .bind(role)
                    .bind(organisation)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "UPDATE sso_identities SET email = $1 WHERE subject = $2 AND email <> $1",
                )
                .bind(&identity.email)
                .bind(&identity.subject)
                .execute(&mut *tx)
                .await?;
                (id, false, access_changed)
            }
            None => {
                let username = free_username(&mut tx, identity).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO users (username, display_name, password_hash, role, \
                     organisation_id, password_change_required, created_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, FALSE, $6) RETURNING id",
                )
                .bind(&username)
                .bind(&identity.display_name)
                .bind(SSO_ONLY_PASSWORD_HASH)
                .bind(role)
                .bind(organisation)
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO sso_identities (subject, user_id, email) VALUES ($1, $2, $3)",
                )
                .bind(&identity.subject)
                .bind(id)
                .bind(&identity.email)
                .execute(&mut *tx)
                .await?;
                (id, true, false)
            }
        };
        // The host's address is where email notifications go.
        sqlx::query("UPDATE users SET email = $1 WHERE id = $2 AND email IS DISTINCT FROM $1")
            .bind(&identity.email)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} WHERE u.id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let user = user_from_row(&row)?;
        tx.commit().await?;
        Ok(SsoSignIn::SignedIn {
            user,
            created,
            access_changed,
        })
    }

    async fn sso_user(&self, subject: &str) -> StoreResult<Option<UserId>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT user_id FROM sso_identities WHERE subject = $1")
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(UserId))
    }

    async fn theme(&self, user: UserId) -> StoreResult<Theme> {
        let theme: Option<String> = sqlx::query_scalar("SELECT theme FROM users WHERE id = $1")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(theme.as_deref().and_then(Theme::parse).unwrap_or_default())
    }

    async fn muted(&self, user: UserId) -> StoreResult<Vec<ConversationId>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT conversation_id FROM conversation_mutes WHERE user_id = $1")
                .bind(user.0)
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().map(ConversationId).collect())
    }

    async fn set_theme(&self, user: UserId, theme: Theme) -> StoreResult<()> {
        sqlx::query("UPDATE users SET theme = $1 WHERE id = $2")
            .bind(theme.as_str())
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl PostgresStore {
    async fn users_where(&self, condition: &str) -> StoreResult<Vec<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} WHERE {condition} ORDER BY u.display_name"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(user_from_row)
        .collect()
    }
}

/// A username for a new single sign-on account: the email's local part in the letters a
/// username may have, made unique with a number when taken.
async fn free_username(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    identity: &SsoIdentity,
) -> StoreResult<String> {
    let base = crate::store::sso_username_base(&identity.email);
    for n in 1..=1000 {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(&candidate)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_none() {
            return Ok(candidate);
        }
    }
    Err(StoreError::Corrupt(format!("no free username for {base}")))
}
