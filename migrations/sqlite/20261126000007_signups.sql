-- The signup form with double opt-in (issue 11). `lists.signup` opens /s/LIST; `thanks_url` is where
-- the form sends people after they sign up (default: herald's own "check your inbox" page). A signup
-- waits here, not in `subscribers`, until its confirmation link is used: a pending address never gets
-- an issue. `mailed_at` NULL: the confirmation mail is still to be sent (tried again at
-- `next_attempt_at` after a failure). Unconfirmed rows older than `subscribe.pending_days` are deleted.
ALTER TABLE lists ADD COLUMN signup INTEGER NOT NULL DEFAULT 0 CHECK (signup IN (0, 1));
ALTER TABLE lists ADD COLUMN thanks_url TEXT;
CREATE TABLE signups (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a token names one signup for ever
    list_id         INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    email           TEXT NOT NULL,
    name            TEXT,
    created_at      INTEGER NOT NULL,
    mailed_at       INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    confirmed_at    INTEGER
) STRICT;
CREATE UNIQUE INDEX signups_pending ON signups (list_id, email) WHERE confirmed_at IS NULL;
CREATE INDEX signups_unmailed ON signups (next_attempt_at) WHERE mailed_at IS NULL;
