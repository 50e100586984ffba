DROP INDEX channel_names;
ALTER TABLE conversations DROP COLUMN archived_at_ms;
DROP TABLE conversation_roles;
