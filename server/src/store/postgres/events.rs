//! The durable event stream, as a reconnecting client's catch-up reads it (the SQL is
//! shared with SQLite: `store/reads.rs`). Ids are handed out under the `event_counter`
//! row's lock by the writer, so an id is visible only once every lower one is.

use app::model::{ConversationId, EventId};

use super::PostgresStore;
use crate::store::reads::SharedReads;
use crate::store::{Events, StoreResult, StoredEvent};

#[async_trait::async_trait]
impl Events for PostgresStore {
    async fn last_event_id(&self) -> StoreResult<EventId> {
        SharedReads(&mut *self.pool.acquire().await?)
            .last_event_id()
            .await
    }

    async fn message_events_between(
        &self,
        after: EventId,
        upto: EventId,
    ) -> StoreResult<Vec<(ConversationId, u64)>> {
        SharedReads(&mut *self.pool.acquire().await?)
            .message_events_between(after, upto)
            .await
    }

    async fn events_between(
        &self,
        after: EventId,
        upto: EventId,
        skip: &[ConversationId],
    ) -> StoreResult<Vec<StoredEvent>> {
        SharedReads(&mut *self.pool.acquire().await?)
            .events_between(after, upto, skip)
            .await
    }
}
