-- A mute or unmute is an event (`mute`, naming whose), so a person's other tabs follow it
-- live and on resume. SQLite cannot change a CHECK in place: the table is rebuilt with
-- the same ids (nothing refers to events).
CREATE TABLE events_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- message: appended; message_changed: edited, deleted or reacted to (the message as
    -- it is now is what a client needs); read: a read position moved; conversation: one
    -- appeared; membership: who is in a group changed; mute: user_id muted or unmuted it.
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'message_changed', 'read', 'conversation', 'membership', 'mute')),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    seq             INTEGER,
    created_at_ms   INTEGER NOT NULL,
    CHECK ((kind IN ('message', 'message_changed')) = (message_id IS NOT NULL)),
    CHECK ((kind = 'read') = (user_id IS NOT NULL AND seq IS NOT NULL)),
    CHECK (kind <> 'mute' OR user_id IS NOT NULL)
);
INSERT INTO events_new (id, kind, conversation_id, message_id, user_id, seq, created_at_ms)
SELECT id, kind, conversation_id, message_id, user_id, seq, created_at_ms FROM events;
-- Event ids are never reused, not even those of events deleted with their conversation.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_new', seq FROM sqlite_sequence WHERE name = 'events'
  AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events_new');
UPDATE sqlite_sequence SET seq = max(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))
WHERE name = 'events_new';
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_by_conversation ON events (conversation_id, id);
