-- Back to bodies checked with `trim`, which keeps only spaces out.
CREATE TABLE messages_rebuilt (
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
    -- The message this one answers, in the same conversation.
    reply_to          INTEGER REFERENCES messages (id),
    UNIQUE (conversation_id, seq),
    UNIQUE (client_id, sender_id),
    CHECK ((deleted_at_ms IS NULL) = (length(trim(body)) >= 1)),
    CHECK ((version = 1) = (edited_at_ms IS NULL)),
    CHECK (deleted_at_ms IS NULL OR mentions_everyone = 0)
);
INSERT INTO messages_rebuilt (id, conversation_id, seq, sender_id, client_id, body, created_at_ms,
                              mentions_everyone, version, edited_at_ms, deleted_at_ms, reply_to)
SELECT id, conversation_id, seq, sender_id, client_id, body, created_at_ms,
       mentions_everyone, version, edited_at_ms, deleted_at_ms, reply_to FROM messages;
-- Its triggers and indexes go with it and are made again below. The tables that refer
-- to `messages` keep referring to it by name, and so to the rebuilt one.
DROP TABLE messages;
ALTER TABLE messages_rebuilt RENAME TO messages;

CREATE TRIGGER messages_take_next_seq
BEFORE INSERT ON messages
WHEN NEW.seq IS NOT (SELECT last_seq + 1 FROM conversations WHERE id = NEW.conversation_id)
BEGIN
    SELECT RAISE(ABORT, 'message seq must be its conversation''s last_seq + 1');
END;
CREATE TRIGGER messages_reply_in_conversation
BEFORE INSERT ON messages
WHEN NEW.reply_to IS NOT NULL
 AND NEW.conversation_id IS NOT (SELECT conversation_id FROM messages WHERE id = NEW.reply_to)
BEGIN
    SELECT RAISE(ABORT, 'a reply must quote a message of its own conversation');
END;
CREATE TRIGGER messages_advance_last_seq
AFTER INSERT ON messages
BEGIN
    UPDATE conversations SET last_seq = NEW.seq, last_activity_ms = NEW.created_at_ms
    WHERE id = NEW.conversation_id;
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
WHEN OLD.id <= (SELECT upto FROM search_indexed)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
    INSERT INTO messages_fts (rowid, body) VALUES (NEW.id, NEW.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN OLD.id <= (SELECT upto FROM search_indexed)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
END;
CREATE INDEX messages_created ON messages (created_at_ms);
CREATE INDEX messages_replies ON messages (reply_to) WHERE reply_to IS NOT NULL;

CREATE TABLE message_versions_rebuilt (
    message_id    INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    body          TEXT NOT NULL CHECK (length(trim(body)) >= 1),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (message_id, version)
) WITHOUT ROWID;
INSERT INTO message_versions_rebuilt (message_id, version, body, created_at_ms)
SELECT message_id, version, body, created_at_ms FROM message_versions;
DROP TABLE message_versions;
ALTER TABLE message_versions_rebuilt RENAME TO message_versions;
