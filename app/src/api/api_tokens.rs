//! Personal access tokens for the REST API (`/api/v1/…`): the signed-in person's own.

use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ApiToken, IssuedToken};

/// The signed-in person's tokens, newest first (revoked ones too).
#[server(endpoint = "api_tokens")]
pub async fn api_tokens() -> Result<Vec<ApiToken>, ApiError> {
    super::backend::with_backend(|b, me| async move { b.api_tokens(&me).await }).await
}

/// Makes a token; its secret is in the answer and nowhere else, ever.
#[server(endpoint = "create_api_token")]
pub async fn create_api_token(name: String, write: bool) -> Result<IssuedToken, ApiError> {
    super::backend::with_backend(|b, me| async move { b.create_api_token(&me, &name, write).await })
        .await
}

/// Revokes one of the signed-in person's tokens: it stops working at once.
#[server(endpoint = "revoke_api_token")]
pub async fn revoke_api_token(id: i64) -> Result<(), ApiError> {
    super::backend::with_backend(|b, me| async move { b.revoke_api_token(&me, id).await }).await
}
