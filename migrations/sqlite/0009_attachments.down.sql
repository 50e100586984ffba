DROP INDEX attachments_by_message;
DROP TABLE attachments;
