-- Parley's first schema (SQLite). Invariants live here as well as in the code:
-- foreign keys, CHECKs, one message per (sender, client id), gapless per-conversation seq.

CREATE TABLE organisations (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    kind    TEXT NOT NULL CHECK (kind IN ('internal', 'client', 'manufacturer'))
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    display_name    TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    password_hash   TEXT NOT NULL CHECK (password_hash LIKE '$argon2%'),
    role            TEXT NOT NULL CHECK (role IN ('admin', 'member', 'guest')),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    created_at_ms   INTEGER NOT NULL
);

-- Only a hash of the session token is stored: a copy of the database opens no sessions.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    CHECK (expires_at_ms > created_at_ms)
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('channel', 'direct', 'group', 'order')),
    slug          TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 100),
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- 'order:1042' for order threads: one thread per external reference.
    external_ref  TEXT UNIQUE,
    last_seq      INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    created_at_ms INTEGER NOT NULL,
    CHECK ((kind = 'order') = (external_ref IS NOT NULL))
);

-- Channels: the organisations admitted. Order threads: the organisations linked to the order.
CREATE TABLE conversation_organisations (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (conversation_id, organisation_id)
) WITHOUT ROWID;

-- Direct and group conversations: exactly their members.
CREATE TABLE conversation_members (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX conversation_members_by_user ON conversation_members (user_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL CHECK (seq >= 1),
    sender_id       INTEGER NOT NULL REFERENCES users (id),
    client_id       TEXT NOT NULL CHECK (length(client_id) = 36),
    body            TEXT NOT NULL CHECK (length(trim(body)) >= 1),
    created_at_ms   INTEGER NOT NULL,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id)
);

-- A message takes exactly the sequence number its conversation just reserved, so seq
-- has no gaps and no two writers can interleave.
CREATE TRIGGER messages_take_reserved_seq
BEFORE INSERT ON messages
WHEN NEW.seq IS NOT (SELECT last_seq FROM conversations WHERE id = NEW.conversation_id)
BEGIN
    SELECT RAISE(ABORT, 'message seq must equal its conversation''s reserved last_seq');
END;

CREATE TABLE read_state (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    last_read_seq   INTEGER NOT NULL CHECK (last_read_seq >= 0),
    PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;

-- The host dashboard's demo orders.
CREATE TABLE orders (
    number   INTEGER PRIMARY KEY CHECK (number > 0),
    customer TEXT NOT NULL,
    sku      TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    status   TEXT NOT NULL CHECK (status IN ('processing', 'shipped', 'on hold', 'delivered'))
);

CREATE TABLE order_organisations (
    order_number    INTEGER NOT NULL REFERENCES orders (number) ON DELETE CASCADE,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (order_number, organisation_id)
) WITHOUT ROWID;

-- One-off facts about this database, such as whether the demo world was seeded.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
