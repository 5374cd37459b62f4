-- A list's public archive (issue 11): `list create|update --archive on` shows its sent issues at
-- /a/LIST, rendered without any reader's data, with an Atom feed. Off unless asked for.
ALTER TABLE lists ADD COLUMN archive INTEGER NOT NULL DEFAULT 0 CHECK (archive IN (0, 1));
