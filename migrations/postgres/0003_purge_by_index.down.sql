DROP INDEX audit_log_by_message;
DROP INDEX mentions_by_message;
DROP INDEX messages_replies;
DROP INDEX events_by_message;
