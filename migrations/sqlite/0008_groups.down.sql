ALTER TABLE conversations DROP COLUMN named;
