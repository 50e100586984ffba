DROP TRIGGER messages_advance_last_seq;
DROP TRIGGER messages_take_next_seq;

CREATE TRIGGER messages_take_reserved_seq
BEFORE INSERT ON messages
WHEN NEW.seq IS NOT (SELECT last_seq FROM conversations WHERE id = NEW.conversation_id)
BEGIN
    SELECT RAISE(ABORT, 'message seq must equal its conversation''s reserved last_seq');
END;
