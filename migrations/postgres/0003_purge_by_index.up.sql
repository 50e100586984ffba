-- As SQLite's 0023: the rows referring to a deleted message are found through an index,
-- not a scan of their table per deleted message (the retention sweep deletes thousands).
CREATE INDEX events_by_message ON events (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_replies ON messages (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX mentions_by_message ON mentions (message_id);
CREATE INDEX audit_log_by_message ON audit_log (message_id) WHERE message_id IS NOT NULL;
