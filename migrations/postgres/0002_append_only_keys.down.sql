CREATE INDEX events_by_conversation ON events (conversation_id, id);
ALTER TABLE messages DROP CONSTRAINT messages_client_id_sender_id_key;
ALTER TABLE messages ADD CONSTRAINT messages_sender_id_client_id_key UNIQUE (sender_id, client_id);
