DROP TABLE mentions;
ALTER TABLE messages DROP COLUMN mentions_everyone;
