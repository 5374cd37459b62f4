-- herald's schema. Instants are INTEGER milliseconds since the Unix epoch (UTC).
-- Enum columns hold the Rust enum's lower-case name; the CHECKs mirror those enums. They are OR chains,
-- not `IN (…)`: SQLite evaluates a CHECK's IN list by building a temporary b-tree for every row written.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE lists (
    id            INTEGER PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    from_name     TEXT,
    from_address  TEXT NOT NULL,
    reply_to      TEXT,
    schedule      TEXT,               -- 5-field cron pattern, read in `timezone`
    timezone      TEXT NOT NULL DEFAULT 'UTC',
    layout        TEXT NOT NULL DEFAULT 'default',
    last_slot_at  INTEGER,            -- the latest cron slot the scheduler has handled
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE subscribers (
    id               INTEGER PRIMARY KEY,
    list_id          INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    email            TEXT NOT NULL,                -- lower-cased by EmailAddress::parse
    name             TEXT,
    attributes       TEXT NOT NULL DEFAULT '{}',   -- JSON object of string values
    status           TEXT NOT NULL DEFAULT 'active'
                     CHECK (status = 'active' OR status = 'unsubscribed' OR status = 'bounced'),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    unsubscribed_at  INTEGER,
    unsubscribed_via INTEGER,                      -- delivery whose link was used
    UNIQUE (list_id, email)
) STRICT;

-- No index on (list_id, status): freezing a list reads it through the unique (list_id, email) index,
-- and one index less makes a million-row import about a tenth faster.

CREATE TABLE issues (
    id             INTEGER PRIMARY KEY,
    list_id        INTEGER NOT NULL REFERENCES lists(id),
    subject        TEXT NOT NULL,
    preheader      TEXT,
    source_path    TEXT NOT NULL,
    html_template  TEXT NOT NULL,     -- rendered once at queue time; {{ placeholders }} filled per message
    text_template  TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'queued'
                   CHECK (state = 'queued' OR state = 'sending' OR state = 'paused' OR state = 'sent' OR state = 'cancelled'),
    state_reason   TEXT,
    send_at        INTEGER,           -- NULL: the list's next cron slot
    queued_at      INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER
) STRICT;

CREATE INDEX issues_by_state ON issues (state, list_id, id);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    issue_id        INTEGER NOT NULL REFERENCES issues(id),
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id),
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state = 'pending' OR state = 'sending' OR state = 'sent' OR state = 'deferred' OR state = 'failed' OR state = 'bounced' OR state = 'skipped'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_reply      TEXT,             -- the server's reply (or the connection error) of the last attempt
    updated_at      INTEGER,
    sent_at         INTEGER,
    UNIQUE (issue_id, subscriber_id)
) STRICT;

-- Claiming walks this index: (issue, state) then id order, so a batch costs the same at 10k or 1M rows.
CREATE INDEX deliveries_work ON deliveries (issue_id, state, id);
