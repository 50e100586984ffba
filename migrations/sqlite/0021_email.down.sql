DROP INDEX messages_created;
DROP TABLE email_sent;
ALTER TABLE users DROP COLUMN email_notifications;
ALTER TABLE users DROP COLUMN email;
