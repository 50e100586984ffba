//! Personal access tokens: the REST API's credentials.

use sqlx::Row;

use app::model::{ApiScope, ApiToken, User, UserId};

use super::SqliteStore;
use crate::store::rows::{
    USER_COLUMNS, api_token_from_row, scopes_column, scopes_from, user_from_row,
};
use crate::store::{ApiTokens, StoreResult};

#[async_trait::async_trait]
impl ApiTokens for SqliteStore {
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
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(user.0)
        .bind(name)
        .bind(token_hash)
        .bind(scopes_column(scopes))
        .bind(now_ms)
        .fetch_one(&self.writer)
        .await?;
        Ok(row.try_get("id")?)
    }

    async fn api_tokens(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, name, scopes, created_at_ms, revoked_at_ms FROM api_tokens \
             WHERE user_id = ? ORDER BY id DESC",
        )
        .bind(user.0)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    async fn revoke_api_token(&self, user: UserId, id: i64, now_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at_ms = ? \
             WHERE id = ? AND user_id = ? AND revoked_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .bind(user.0)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn api_token_user(&self, token_hash: &str) -> StoreResult<Option<(User, Vec<ApiScope>)>> {
        let row = sqlx::query(&format!(
            "SELECT t.scopes, {USER_COLUMNS} \
             JOIN api_tokens t ON t.user_id = u.id \
             WHERE t.token_hash = ? AND t.revoked_at_ms IS NULL AND u.disabled_at_ms IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, scopes_from(row.try_get("scopes")?)?)))
            .transpose()
    }
}
