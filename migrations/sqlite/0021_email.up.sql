-- Email for mentions and direct messages left unread (SPEC.md §5): each person's address
-- (single sign-on brings it; the demo has its own) and their opt-out; and per person and
-- conversation, the newest message an email has already told them of, so nothing is
-- sent twice. `messages_created` finds the messages old enough to email about.
ALTER TABLE users ADD COLUMN email TEXT CHECK (email IS NULL OR length(email) BETWEEN 3 AND 254);
ALTER TABLE users ADD COLUMN email_notifications INTEGER NOT NULL DEFAULT 1
    CHECK (email_notifications IN (0, 1));
UPDATE users SET email = (SELECT s.email FROM sso_identities s WHERE s.user_id = users.id);

CREATE TABLE email_sent (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    through_seq     INTEGER NOT NULL CHECK (through_seq >= 1),
    PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;

CREATE INDEX messages_created ON messages (created_at_ms);
