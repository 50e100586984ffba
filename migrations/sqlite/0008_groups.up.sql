-- Groups may have a name, or be listed by their members' first names (named = 0; the
-- stored name is then only a placeholder).
ALTER TABLE conversations ADD COLUMN named INTEGER NOT NULL DEFAULT 1 CHECK (named IN (0, 1));
