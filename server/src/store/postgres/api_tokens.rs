//! Personal access tokens: the REST API's credentials.

use sqlx::Row;

use app::model::{ApiScope, ApiToken, User, UserId};

use super::PostgresStore;
use crate::store::rows::{
    USER_COLUMNS, api_token_from_row, scopes_column, scopes_from, user_from_row,
};
use crate::store::{ApiTokens, StoreResult};

#[async_trait::async_trait]
impl ApiTokens for PostgresStore {
    async fn create_api_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        scopes: &[ApiScope],
        now_ms: i64,
    ) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user.0)
        .bind(name)
        .bind(token_hash)
        .bind(scopes_column(scopes))
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    async fn api_tokens(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, name, scopes, created_at_ms, revoked_at_ms FROM api_tokens \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    async fn revoke_api_token(&self, user: UserId, id: i64, now_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at_ms = $1 \
             WHERE id = $2 AND user_id = $3 AND revoked_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .bind(user.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn api_token_user(&self, token_hash: &str) -> StoreResult<Option<(User, Vec<ApiScope>)>> {
        let row = sqlx::query(&format!(
            "SELECT t.scopes, {USER_COLUMNS} \
             JOIN api_tokens t ON t.user_id = u.id \
             WHERE t.token_hash = $1 AND t.revoked_at_ms IS NULL AND u.disabled_at_ms IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, scopes_from(row.try_get("scopes")?)?)))
            .transpose()
    }
}
