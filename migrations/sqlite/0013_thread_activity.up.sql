-- When a conversation last had a message (or was created): the conversation list shows
-- the order threads a user follows and the most recently active others, not every one
-- of possibly hundreds of thousands.
ALTER TABLE conversations ADD COLUMN last_activity_ms INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET last_activity_ms = max(
    created_at_ms,
    COALESCE((SELECT max(m.created_at_ms) FROM messages m WHERE m.conversation_id = conversations.id), 0)
);

DROP TRIGGER messages_advance_last_seq;
CREATE TRIGGER messages_advance_last_seq
AFTER INSERT ON messages
BEGIN
    UPDATE conversations SET last_seq = NEW.seq, last_activity_ms = NEW.created_at_ms
    WHERE id = NEW.conversation_id;
END;

-- Only order threads are listed by activity; only their index entries move with it.
CREATE INDEX order_threads_by_activity ON conversations (last_activity_ms) WHERE kind = 'order';
CREATE INDEX channels ON conversations (id) WHERE kind = 'channel';
-- The threads linked to an organisation (a guest's order threads).
CREATE INDEX conversation_organisations_by_organisation
    ON conversation_organisations (organisation_id, conversation_id);
