-- As SQLite's 0022: the idempotency index keyed by client id first, so time-ordered ids
-- (UUIDv7, as the browser makes them) land at its right edge instead of at a random leaf
-- per message; and no index of events by conversation, which nothing reads (resumes and
-- gap fills read events by id).
ALTER TABLE messages DROP CONSTRAINT messages_sender_id_client_id_key;
ALTER TABLE messages ADD CONSTRAINT messages_client_id_sender_id_key UNIQUE (client_id, sender_id);
DROP INDEX events_by_conversation;
