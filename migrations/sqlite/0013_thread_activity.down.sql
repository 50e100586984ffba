DROP INDEX conversation_organisations_by_organisation;
DROP INDEX channels;
DROP INDEX order_threads_by_activity;
DROP TRIGGER messages_advance_last_seq;
CREATE TRIGGER messages_advance_last_seq
AFTER INSERT ON messages
BEGIN
    UPDATE conversations SET last_seq = NEW.seq WHERE id = NEW.conversation_id;
END;
ALTER TABLE conversations DROP COLUMN last_activity_ms;
