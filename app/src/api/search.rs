use leptos::prelude::*;

use crate::error::ApiError;
use crate::search::SearchResults;

/// Messages the user may see that match `query` (words, "phrases", `from:`, `in:`,
/// `before:`, `after:`, `has:link`, `has:file`), newest first.
#[server(endpoint = "search")]
pub async fn search_messages(query: String) -> Result<SearchResults, ApiError> {
    super::backend::with_backend(|b, me| async move { b.search(&me, &query).await }).await
}
