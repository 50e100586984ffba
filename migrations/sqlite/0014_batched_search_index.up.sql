-- The full-text index is filled in batches by the writer, off the ack path, instead of by
-- a trigger inside every append's transaction (each commit then made a new FTS5 segment
-- and merges followed: durable sends were 10–15% slower). `search_indexed.upto` is the
-- highest message id indexed; a search first indexes whatever is above it, so it never
-- misses a committed message.
CREATE TABLE search_indexed (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    upto INTEGER NOT NULL CHECK (upto >= 0)
);
INSERT INTO search_indexed (one, upto) SELECT 1, COALESCE(max(id), 0) FROM messages;

DROP TRIGGER messages_fts_insert;
-- Edits and deletes touch the index only for messages already in it; one not yet
-- indexed goes in later with its text as it then is.
DROP TRIGGER messages_fts_update;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages
WHEN OLD.id <= (SELECT upto FROM search_indexed)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
    INSERT INTO messages_fts (rowid, body) VALUES (NEW.id, NEW.body);
END;
DROP TRIGGER messages_fts_delete;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN OLD.id <= (SELECT upto FROM search_indexed)
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', OLD.id, OLD.body);
END;
