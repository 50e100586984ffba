-- A message now takes the next seq itself (INSERT … SELECT last_seq + 1) and the insert
-- moves its conversation's last_seq, so an append is one statement instead of two; the
-- invariant is unchanged: seq runs 1, 2, 3 … with no gaps.
DROP TRIGGER messages_take_reserved_seq;

CREATE TRIGGER messages_take_next_seq
BEFORE INSERT ON messages
WHEN NEW.seq IS NOT (SELECT last_seq + 1 FROM conversations WHERE id = NEW.conversation_id)
BEGIN
    SELECT RAISE(ABORT, 'message seq must be its conversation''s last_seq + 1');
END;

CREATE TRIGGER messages_advance_last_seq
AFTER INSERT ON messages
BEGIN
    UPDATE conversations SET last_seq = NEW.seq WHERE id = NEW.conversation_id;
END;
