-- Each person's theme (SPEC.md §9 "Theme"): follow the system, or always light or dark.
ALTER TABLE users ADD COLUMN theme TEXT NOT NULL DEFAULT 'system'
    CHECK (theme IN ('system', 'light', 'dark'));
