-- Back to plain messages, rebuilt the way the up migration did it. A deleted message
-- keeps its place (seq stays gapless) with the text "(message deleted)"; message-change
-- and membership events are dropped.

DROP TABLE audit_log;
DROP TABLE reactions;
DROP TABLE message_versions;

CREATE TABLE messages_old (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL CHECK (seq >= 1),
    sender_id       INTEGER NOT NULL REFERENCES users (id),
    client_id       TEXT NOT NULL CHECK (length(client_id) = 36),
    body            TEXT NOT NULL CHECK (length(trim(body)) >= 1),
    created_at_ms   INTEGER NOT NULL,
    mentions_everyone INTEGER NOT NULL DEFAULT 0 CHECK (mentions_everyone IN (0, 1)),
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id)
);
INSERT INTO messages_old (id, conversation_id, seq, sender_id, client_id, body, created_at_ms, mentions_everyone)
SELECT id, conversation_id, seq, sender_id, client_id,
       CASE WHEN deleted_at_ms IS NULL THEN body ELSE '(message deleted)' END, created_at_ms, mentions_everyone
FROM messages;
-- Its triggers would go with it; they are made again below for the new table.
DROP TRIGGER messages_take_next_seq;
DROP TRIGGER messages_advance_last_seq;
DROP TRIGGER messages_reply_in_conversation;
ALTER TABLE messages RENAME TO messages_retired;
ALTER TABLE messages_old RENAME TO messages;

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

CREATE TABLE events_old (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'read', 'conversation')),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    seq             INTEGER,
    created_at_ms   INTEGER NOT NULL,
    CHECK ((kind = 'message') = (message_id IS NOT NULL)),
    CHECK ((kind = 'read') = (user_id IS NOT NULL AND seq IS NOT NULL))
);
INSERT INTO events_old (id, kind, conversation_id, message_id, user_id, seq, created_at_ms)
SELECT e.id, e.kind, e.conversation_id, e.message_id, e.user_id, e.seq, e.created_at_ms FROM events e
WHERE e.kind IN ('message', 'read', 'conversation');
UPDATE sqlite_sequence SET seq = max(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))
WHERE name = 'events_old';
DROP TABLE events;
ALTER TABLE events_old RENAME TO events;
CREATE INDEX events_by_conversation ON events (conversation_id, id);

CREATE TABLE mentions_old (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;
INSERT INTO mentions_old (message_id, user_id) SELECT message_id, user_id FROM mentions;
DROP TABLE mentions;
ALTER TABLE mentions_old RENAME TO mentions;

DROP TABLE messages_retired;
