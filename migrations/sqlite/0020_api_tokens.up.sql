-- Personal access tokens for integrations and bots (REST API): only a SHA-256 of the
-- token is kept (it is shown once, when made); scopes `read` (conversations, history)
-- and `write` (post, open threads); revoked tokens stay listed as revoked.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    token_hash    TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    scopes        TEXT NOT NULL CHECK (scopes IN ('read', 'read write')),
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
