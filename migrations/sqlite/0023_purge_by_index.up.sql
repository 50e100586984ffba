-- A deleted message's rows elsewhere are found through an index instead of by reading
-- whole tables: SQLite looks up the rows referring to a deleted row (to cascade, set null
-- or refuse) by the referring column, and without an index on it reads the table once per
-- deleted message. The retention sweep deletes up to 2,000 messages a turn on the writer
-- thread; at 2.9 million messages 100 of them took 40 s (every send waiting), 2,000 now
-- take 27 ms. Message ids grow, so `events_by_message` grows at its end like the events.
CREATE INDEX events_by_message ON events (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_replies ON messages (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX mentions_by_message ON mentions (message_id);
CREATE INDEX audit_log_by_message ON audit_log (message_id) WHERE message_id IS NOT NULL;
