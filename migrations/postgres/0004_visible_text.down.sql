ALTER TABLE message_versions DROP CONSTRAINT message_versions_body_check;
ALTER TABLE message_versions ADD CONSTRAINT message_versions_body_check
    CHECK (length(btrim(body)) >= 1);
ALTER TABLE messages DROP CONSTRAINT messages_check;
ALTER TABLE messages ADD CONSTRAINT messages_check
    CHECK ((deleted_at_ms IS NULL) = (length(btrim(body)) >= 1));
