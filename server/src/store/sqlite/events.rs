//! The durable event stream, as a reconnecting client's catch-up reads it (the SQL is
//! shared with PostgreSQL: `store/reads.rs`).

use app::model::{ConversationId, EventId};

use super::SqliteStore;
use crate::store::reads::SharedReads;
use crate::store::{Events, StoreResult, StoredEvent};

#[async_trait::async_trait]
impl Events for SqliteStore {
    async fn last_event_id(&self) -> StoreResult<EventId> {
        SharedReads(&mut *self.reader.acquire().await?)
            .last_event_id()
            .await
    }

    async fn message_events_between(
        &self,
        after: EventId,
        upto: EventId,
    ) -> StoreResult<Vec<(ConversationId, u64)>> {
        SharedReads(&mut *self.reader.acquire().await?)
            .message_events_between(after, upto)
            .await
    }

    async fn events_between(
        &self,
        after: EventId,
        upto: EventId,
        skip: &[ConversationId],
    ) -> StoreResult<Vec<StoredEvent>> {
        SharedReads(&mut *self.reader.acquire().await?)
            .events_between(after, upto, skip)
            .await
    }
}
