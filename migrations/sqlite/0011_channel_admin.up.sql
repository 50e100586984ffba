-- Channels admit roles as well as organisations: someone sees a channel when both their
-- organisation and their role are admitted (admins see every channel, to manage it).
CREATE TABLE conversation_roles (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'member', 'guest')),
    PRIMARY KEY (conversation_id, role)
) WITHOUT ROWID;
INSERT INTO conversation_roles (conversation_id, role)
SELECT c.id, r.role FROM conversations c,
    (SELECT 'admin' AS role UNION ALL SELECT 'member' UNION ALL SELECT 'guest') r
WHERE c.kind = 'channel';

-- An archived channel is read-only: its history stays, nobody posts, edits or reacts.
ALTER TABLE conversations ADD COLUMN archived_at_ms INTEGER
    CHECK (archived_at_ms IS NULL OR kind = 'channel');

-- Channel names are unique among channels (a renamed channel keeps its slug, so a new
-- channel may need another one).
CREATE UNIQUE INDEX channel_names ON conversations (name) WHERE kind = 'channel';
