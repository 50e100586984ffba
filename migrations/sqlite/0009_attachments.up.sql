-- Files attached to messages. The bytes live outside the database, stored by their
-- SHA-256 (`hash`); an image also has a thumbnail made on the server (`thumb_hash`).
-- An upload belongs to its conversation and uploader until a message takes it.
CREATE TABLE attachments (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    uploader_id     INTEGER NOT NULL REFERENCES users (id),
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    content_type    TEXT NOT NULL CHECK (length(content_type) BETWEEN 1 AND 100),
    size            INTEGER NOT NULL CHECK (size >= 0),
    hash            TEXT NOT NULL CHECK (length(hash) = 64),
    thumb_hash      TEXT CHECK (thumb_hash IS NULL OR length(thumb_hash) = 64),
    width           INTEGER CHECK (width IS NULL OR width > 0),
    height          INTEGER CHECK (height IS NULL OR height > 0),
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX attachments_by_message ON attachments (message_id) WHERE message_id IS NOT NULL;
