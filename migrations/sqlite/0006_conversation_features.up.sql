-- Edits, deletes, replies and reactions. `messages` and `events` are rebuilt (SQLite
-- cannot change a CHECK in place): a deleted message keeps its row and place but loses
-- its text, and the event stream gains message changes. The old `messages` is renamed
-- away first (its children, events and mentions, follow it by name), then its children
-- are rebuilt against the new `messages`, and only then is the old one dropped, so the
-- drop cascades into nothing.

CREATE TABLE messages_new (
    id                INTEGER PRIMARY KEY,
    conversation_id   INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq               INTEGER NOT NULL CHECK (seq >= 1),
    sender_id         INTEGER NOT NULL REFERENCES users (id),
    client_id         TEXT NOT NULL CHECK (length(client_id) = 36),
    -- The current text; empty exactly when the message is deleted.
    body              TEXT NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    mentions_everyone INTEGER NOT NULL DEFAULT 0 CHECK (mentions_everyone IN (0, 1)),
    -- 1 as sent; every edit adds one (earlier texts are in message_versions).
    version           INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    edited_at_ms      INTEGER,
    deleted_at_ms     INTEGER,
    -- The message this one answers, in the same conversation. (Named by the new table's
    -- name while it is built; the rename below carries the reference along.)
    reply_to          INTEGER REFERENCES messages_new (id),
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id),
    CHECK ((deleted_at_ms IS NULL) = (length(trim(body)) >= 1)),
    CHECK ((version = 1) = (edited_at_ms IS NULL)),
    CHECK (deleted_at_ms IS NULL OR mentions_everyone = 0)
);
INSERT INTO messages_new (id, conversation_id, seq, sender_id, client_id, body, created_at_ms, mentions_everyone)
SELECT id, conversation_id, seq, sender_id, client_id, body, created_at_ms, mentions_everyone FROM messages;
-- Its triggers would go with it; they are made again below for the new table.
DROP TRIGGER messages_take_next_seq;
DROP TRIGGER messages_advance_last_seq;
ALTER TABLE messages RENAME TO messages_retired;
ALTER TABLE messages_new RENAME TO messages;

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

-- A reply quotes a message of its own conversation.
CREATE TRIGGER messages_reply_in_conversation
BEFORE INSERT ON messages
WHEN NEW.reply_to IS NOT NULL
 AND NEW.conversation_id IS NOT (SELECT conversation_id FROM messages WHERE id = NEW.reply_to)
BEGIN
    SELECT RAISE(ABORT, 'a reply must quote a message of its own conversation');
END;

-- The texts a message had before its current one: version n was its text from the
-- n-th write until the next. Deleting a message deletes these too.
CREATE TABLE message_versions (
    message_id    INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    body          TEXT NOT NULL CHECK (length(trim(body)) >= 1),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (message_id, version)
) WITHOUT ROWID;

-- One reaction per (message, user, emoji), from the fixed set of SPEC.md §9.
CREATE TABLE reactions (
    message_id    INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji         TEXT NOT NULL CHECK (emoji IN ('thumbs_up', 'heart', 'laughing', 'eyes', 'check_mark', 'tada')),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
) WITHOUT ROWID;

-- Admin actions, deletes and permission changes: who did what to what, and when.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    actor_id        INTEGER NOT NULL REFERENCES users (id),
    action          TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    message_id      INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    -- Whom it concerned (the author of a deleted message, say).
    subject_id      INTEGER REFERENCES users (id),
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (created_at_ms);

CREATE TABLE events_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- message: appended; message_changed: edited, deleted or reacted to (the message as
    -- it is now is what a client needs); read: a read position moved; conversation: one
    -- appeared; membership: who is in a group changed.
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'message_changed', 'read', 'conversation', 'membership')),
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    seq             INTEGER,
    created_at_ms   INTEGER NOT NULL,
    CHECK ((kind IN ('message', 'message_changed')) = (message_id IS NOT NULL)),
    CHECK ((kind = 'read') = (user_id IS NOT NULL AND seq IS NOT NULL))
);
INSERT INTO events_new (id, kind, conversation_id, message_id, user_id, seq, created_at_ms)
SELECT id, kind, conversation_id, message_id, user_id, seq, created_at_ms FROM events;
-- Event ids are never reused, not even those of events deleted with their conversation.
UPDATE sqlite_sequence SET seq = max(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))
WHERE name = 'events_new';
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_by_conversation ON events (conversation_id, id);

CREATE TABLE mentions_new (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, message_id)
) WITHOUT ROWID;
INSERT INTO mentions_new (message_id, user_id) SELECT message_id, user_id FROM mentions;
DROP TABLE mentions;
ALTER TABLE mentions_new RENAME TO mentions;

DROP TABLE messages_retired;
