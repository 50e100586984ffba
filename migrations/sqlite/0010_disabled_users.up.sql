-- An admin may disable an account: it cannot sign in, its sessions are gone.
ALTER TABLE users ADD COLUMN disabled_at_ms INTEGER;
