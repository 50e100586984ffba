-- The admin account created on an empty database gets a one-time password: its first
-- sign-in must choose a new one before anything else.
ALTER TABLE users ADD COLUMN password_change_required INTEGER NOT NULL DEFAULT 0
    CHECK (password_change_required IN (0, 1));
