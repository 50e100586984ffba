-- Back to events without `mute` (the mutes themselves stay in conversation_mutes).
CREATE TABLE events_old (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'message_changed', 'read', 'conversation', 'membership')),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    seq             INTEGER,
    created_at_ms   INTEGER NOT NULL,
    CHECK ((kind IN ('message', 'message_changed')) = (message_id IS NOT NULL)),
    CHECK ((kind = 'read') = (user_id IS NOT NULL AND seq IS NOT NULL))
);
INSERT INTO events_old (id, kind, conversation_id, message_id, user_id, seq, created_at_ms)
SELECT id, kind, conversation_id, message_id, user_id, seq, created_at_ms FROM events
WHERE kind <> 'mute';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_old', seq FROM sqlite_sequence WHERE name = 'events'
  AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events_old');
DROP TABLE events;
ALTER TABLE events_old RENAME TO events;
CREATE INDEX events_by_conversation ON events (conversation_id, id);
