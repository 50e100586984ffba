-- The durable event stream that reconnecting clients resume from. Every change a client
-- must not miss gets one row, in the transaction that makes the change, so event ids
-- follow commit order (one writer). AUTOINCREMENT: ids are never reused.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'read', 'conversation')),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- message: the message.
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    -- read: whose read position moved, and to where.
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    seq             INTEGER,
    created_at_ms   INTEGER NOT NULL,
    CHECK ((kind = 'message') = (message_id IS NOT NULL)),
    CHECK ((kind = 'read') = (user_id IS NOT NULL AND seq IS NOT NULL))
);
CREATE INDEX events_by_conversation ON events (conversation_id, id);

-- Messages stored before this migration become events too, so a client can resume from
-- any point.
INSERT INTO events (kind, conversation_id, message_id, created_at_ms)
SELECT 'message', conversation_id, id, created_at_ms FROM messages ORDER BY id;
