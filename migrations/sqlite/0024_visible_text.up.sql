-- One definition of visible text (issue 9) in the database too: a body must have a
-- character that `app::model::is_visible` calls visible, not only one `trim` keeps. A
-- body of zero-width spaces, bidi overrides or braille blanks written past the server
-- (the sqlite3 command line, a restore, a bug) is refused like an empty one. The
-- expression is generated from `is_visible` by `server/src/store/visible_text.rs`,
-- whose tests hold this file to it; built-in functions only, so the sqlite3 command
-- line and backups keep working. Both tables are rebuilt for it, as 0022 did.
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
    CHECK ((deleted_at_ms IS NULL) = (
        instr(body, char(0)) = 0 AND CASE
            WHEN unicode(body) BETWEEN 33 AND 126
              OR unicode(body) BETWEEN 161 AND 172
              OR unicode(body) BETWEEN 174 AND 846
              OR unicode(body) BETWEEN 848 AND 1563
              OR unicode(body) BETWEEN 1565 AND 4446
              OR unicode(body) BETWEEN 4449 AND 5759
              OR unicode(body) BETWEEN 5761 AND 6067
              OR unicode(body) BETWEEN 6070 AND 6154
              OR unicode(body) BETWEEN 6160 AND 8191
              OR unicode(body) BETWEEN 8208 AND 8231
              OR unicode(body) BETWEEN 8240 AND 8286
              OR unicode(body) BETWEEN 8304 AND 10239
              OR unicode(body) BETWEEN 10241 AND 12287
              OR unicode(body) BETWEEN 12289 AND 12643
              OR unicode(body) BETWEEN 12645 AND 65023
              OR unicode(body) BETWEEN 65040 AND 65278
              OR unicode(body) BETWEEN 65280 AND 65439
              OR unicode(body) BETWEEN 65441 AND 65519
              OR unicode(body) BETWEEN 65532 AND 917503
              OR unicode(body) BETWEEN 917632 AND 1114111
            THEN 1
            ELSE trim(body,
                      char(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
                   || char(13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24)
                   || char(25, 26, 27, 28, 29, 30, 31, 32, 127, 128, 129, 130)
                   || char(131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142)
                   || char(143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154)
                   || char(155, 156, 157, 158, 159, 160, 173, 847, 1564, 4447, 4448, 5760)
                   || char(6068, 6069, 6155, 6156, 6157, 6158, 6159, 8192, 8193, 8194, 8195, 8196)
                   || char(8197, 8198, 8199, 8200, 8201, 8202, 8203, 8204, 8205, 8206, 8207, 8232)
                   || char(8233, 8234, 8235, 8236, 8237, 8238, 8239, 8287, 8288, 8289, 8290, 8291)
                   || char(8292, 8293, 8294, 8295, 8296, 8297, 8298, 8299, 8300, 8301, 8302, 8303)
                   || char(10240, 12288, 12644, 65024, 65025, 65026, 65027, 65028, 65029, 65030, 65031, 65032)
                   || char(65033, 65034, 65035, 65036, 65037, 65038, 65039, 65279, 65440, 65520, 65521, 65522)
                   || char(65523, 65524, 65525, 65526, 65527, 65528, 65529, 65530, 65531, 917504, 917505, 917506)
                   || char(917507, 917508, 917509, 917510, 917511, 917512, 917513, 917514, 917515, 917516, 917517, 917518)
                   || char(917519, 917520, 917521, 917522, 917523, 917524, 917525, 917526, 917527, 917528, 917529, 917530)
                   || char(917531, 917532, 917533, 917534, 917535, 917536, 917537, 917538, 917539, 917540, 917541, 917542)
                   || char(917543, 917544, 917545, 917546, 917547, 917548, 917549, 917550, 917551, 917552, 917553, 917554)
                   || char(917555, 917556, 917557, 917558, 917559, 917560, 917561, 917562, 917563, 917564, 917565, 917566)
                   || char(917567, 917568, 917569, 917570, 917571, 917572, 917573, 917574, 917575, 917576, 917577, 917578)
                   || char(917579, 917580, 917581, 917582, 917583, 917584, 917585, 917586, 917587, 917588, 917589, 917590)
                   || char(917591, 917592, 917593, 917594, 917595, 917596, 917597, 917598, 917599, 917600, 917601, 917602)
                   || char(917603, 917604, 917605, 917606, 917607, 917608, 917609, 917610, 917611, 917612, 917613, 917614)
                   || char(917615, 917616, 917617, 917618, 917619, 917620, 917621, 917622, 917623, 917624, 917625, 917626)
                   || char(917627, 917628, 917629, 917630, 917631)) <> ''
        END
    )),
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
    body          TEXT NOT NULL CHECK (
        instr(body, char(0)) = 0 AND CASE
            WHEN unicode(body) BETWEEN 33 AND 126
              OR unicode(body) BETWEEN 161 AND 172
              OR unicode(body) BETWEEN 174 AND 846
              OR unicode(body) BETWEEN 848 AND 1563
              OR unicode(body) BETWEEN 1565 AND 4446
              OR unicode(body) BETWEEN 4449 AND 5759
              OR unicode(body) BETWEEN 5761 AND 6067
              OR unicode(body) BETWEEN 6070 AND 6154
              OR unicode(body) BETWEEN 6160 AND 8191
              OR unicode(body) BETWEEN 8208 AND 8231
              OR unicode(body) BETWEEN 8240 AND 8286
              OR unicode(body) BETWEEN 8304 AND 10239
              OR unicode(body) BETWEEN 10241 AND 12287
              OR unicode(body) BETWEEN 12289 AND 12643
              OR unicode(body) BETWEEN 12645 AND 65023
              OR unicode(body) BETWEEN 65040 AND 65278
              OR unicode(body) BETWEEN 65280 AND 65439
              OR unicode(body) BETWEEN 65441 AND 65519
              OR unicode(body) BETWEEN 65532 AND 917503
              OR unicode(body) BETWEEN 917632 AND 1114111
            THEN 1
            ELSE trim(body,
                      char(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
                   || char(13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24)
                   || char(25, 26, 27, 28, 29, 30, 31, 32, 127, 128, 129, 130)
                   || char(131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142)
                   || char(143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154)
                   || char(155, 156, 157, 158, 159, 160, 173, 847, 1564, 4447, 4448, 5760)
                   || char(6068, 6069, 6155, 6156, 6157, 6158, 6159, 8192, 8193, 8194, 8195, 8196)
                   || char(8197, 8198, 8199, 8200, 8201, 8202, 8203, 8204, 8205, 8206, 8207, 8232)
                   || char(8233, 8234, 8235, 8236, 8237, 8238, 8239, 8287, 8288, 8289, 8290, 8291)
                   || char(8292, 8293, 8294, 8295, 8296, 8297, 8298, 8299, 8300, 8301, 8302, 8303)
                   || char(10240, 12288, 12644, 65024, 65025, 65026, 65027, 65028, 65029, 65030, 65031, 65032)
                   || char(65033, 65034, 65035, 65036, 65037, 65038, 65039, 65279, 65440, 65520, 65521, 65522)
                   || char(65523, 65524, 65525, 65526, 65527, 65528, 65529, 65530, 65531, 917504, 917505, 917506)
                   || char(917507, 917508, 917509, 917510, 917511, 917512, 917513, 917514, 917515, 917516, 917517, 917518)
                   || char(917519, 917520, 917521, 917522, 917523, 917524, 917525, 917526, 917527, 917528, 917529, 917530)
                   || char(917531, 917532, 917533, 917534, 917535, 917536, 917537, 917538, 917539, 917540, 917541, 917542)
                   || char(917543, 917544, 917545, 917546, 917547, 917548, 917549, 917550, 917551, 917552, 917553, 917554)
                   || char(917555, 917556, 917557, 917558, 917559, 917560, 917561, 917562, 917563, 917564, 917565, 917566)
                   || char(917567, 917568, 917569, 917570, 917571, 917572, 917573, 917574, 917575, 917576, 917577, 917578)
                   || char(917579, 917580, 917581, 917582, 917583, 917584, 917585, 917586, 917587, 917588, 917589, 917590)
                   || char(917591, 917592, 917593, 917594, 917595, 917596, 917597, 917598, 917599, 917600, 917601, 917602)
                   || char(917603, 917604, 917605, 917606, 917607, 917608, 917609, 917610, 917611, 917612, 917613, 917614)
                   || char(917615, 917616, 917617, 917618, 917619, 917620, 917621, 917622, 917623, 917624, 917625, 917626)
                   || char(917627, 917628, 917629, 917630, 917631)) <> ''
        END
    ),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (message_id, version)
) WITHOUT ROWID;
INSERT INTO message_versions_rebuilt (message_id, version, body, created_at_ms)
SELECT message_id, version, body, created_at_ms FROM message_versions;
DROP TABLE message_versions;
ALTER TABLE message_versions_rebuilt RENAME TO message_versions;
