-- Conversations a person muted: no browser notifications, and not in the badge's count.
CREATE TABLE conversation_mutes (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;
