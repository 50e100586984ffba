-- Single sign-on from a host dashboard (SPEC.md §6): the host's user id (`sub`) names a
-- Parley user for good; each token's nonce is kept until the token would have expired,
-- so a token opens one session and no more.
CREATE TABLE sso_identities (
    subject TEXT PRIMARY KEY CHECK (length(subject) BETWEEN 1 AND 200),
    user_id INTEGER NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    email   TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254)
) WITHOUT ROWID;

CREATE TABLE sso_nonces (
    nonce         TEXT PRIMARY KEY CHECK (length(nonce) BETWEEN 8 AND 200),
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sso_nonces_expiry ON sso_nonces (expires_at_ms);
