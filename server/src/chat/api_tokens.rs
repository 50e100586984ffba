//! Personal access tokens: made by their owner (shown once), listed, revoked; and the
//! REST API's look-up of the token a request carries. The token is 32 random bytes in
//! hex after `parley_pat_`; only its SHA-256 is stored.

use app::error::{ApiError, ErrorCode};
use app::model::{ApiScope, ApiToken, IssuedToken, MAX_API_TOKENS, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{Chat, internal};
use crate::clock::now_ms;

/// What every token starts with (so a leaked one is easy to find by secret scanners).
pub const TOKEN_PREFIX: &str = "parley_pat_";

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Chat {
    pub async fn api_tokens(&self, me: &User) -> Result<Vec<ApiToken>, ApiError> {
        self.store.api_tokens(me.id).await.map_err(internal)
    }

    /// Makes a token for `me` named `name`, reading only or writing too.
    pub async fn create_api_token(
        &self,
        me: &User,
        name: &str,
        write: bool,
    ) -> Result<IssuedToken, ApiError> {
        let name = name.trim();
        if !app::model::has_visible_text(name)
            || name.chars().count() > 80
            || name.chars().any(char::is_control)
        {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "A token needs a name of 1 to 80 characters.",
            ));
        }
        let working = self
            .store
            .api_tokens(me.id)
            .await
            .map_err(internal)?
            .iter()
            .filter(|t| t.revoked_at_ms.is_none())
            .count();
        if working >= MAX_API_TOKENS {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("At most {MAX_API_TOKENS} tokens at once: revoke one first."),
            ));
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        let scopes = if write {
            vec![ApiScope::Read, ApiScope::Write]
        } else {
            vec![ApiScope::Read]
        };
        let now = now_ms();
        let id = self
            .store
            .create_api_token(me.id, name, &hash(&secret), &scopes, now)
            .await
            .map_err(internal)?;
        tracing::info!(user = %me.username, token = id, "made an API token");
        Ok(IssuedToken {
            token: ApiToken {
                id,
                name: name.to_string(),
                scopes,
                created_at_ms: now,
                revoked_at_ms: None,
            },
            secret,
        })
    }

    pub async fn revoke_api_token(&self, me: &User, id: i64) -> Result<(), ApiError> {
        if self
            .store
            .revoke_api_token(me.id, id, now_ms())
            .await
            .map_err(internal)?
        {
            tracing::info!(user = %me.username, token = id, "revoked an API token");
            Ok(())
        } else {
            Err(ApiError::not_found("token"))
        }
    }

    /// The owner and scopes of a working token, or `unauthenticated` (unknown, revoked,
    /// malformed, or its owner disabled: all alike).
    pub async fn token_user(&self, token: &str) -> Result<(User, Vec<ApiScope>), ApiError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Err(ApiError::unauthenticated());
        }
        self.store
            .api_token_user(&hash(token))
            .await
            .map_err(internal)?
            .ok_or_else(ApiError::unauthenticated)
    }
}
