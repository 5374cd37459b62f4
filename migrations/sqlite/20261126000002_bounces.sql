-- Bounces and complaints. SQLite cannot change a CHECK in place, so `subscribers` is rebuilt to allow
-- the new `complained` status (and `deliveries` for the `unconfirmed` state and its counter). sqlx runs a SQLite migration inside a transaction with foreign keys on,
-- where `PRAGMA foreign_keys = OFF` has no effect; dropping `subscribers` while `deliveries` refers to
-- it would fail. So `deliveries` is set aside in a plain copy first, both tables are rebuilt, and
-- `deliveries` is filled again from the copy (its foreign keys checked row by row on the way).

CREATE TABLE deliveries_copy AS SELECT * FROM deliveries;
DROP TABLE deliveries;
CREATE TABLE subscribers_new (
    id               INTEGER PRIMARY KEY,
    list_id          INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    email            TEXT NOT NULL,                -- lower-cased by EmailAddress::parse
    name             TEXT,
    attributes       TEXT NOT NULL DEFAULT '{}',   -- JSON object of string values
    status           TEXT NOT NULL DEFAULT 'active'
                     CHECK (status = 'active' OR status = 'unsubscribed' OR status = 'bounced' OR status = 'complained'),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    unsubscribed_at  INTEGER,
    unsubscribed_via INTEGER,                      -- delivery whose link was used
    status_reason    TEXT,                         -- why the status last changed (bounce / complaint)
    UNIQUE (list_id, email)
) STRICT;

INSERT INTO subscribers_new (id, list_id, email, name, attributes, status, created_at, updated_at,
                             unsubscribed_at, unsubscribed_via)
    SELECT id, list_id, email, name, attributes, status, created_at, updated_at, unsubscribed_at,
           unsubscribed_via
    FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE subscribers_new RENAME TO subscribers;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    issue_id        INTEGER NOT NULL REFERENCES issues(id),
    subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id),
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state = 'pending' OR state = 'sending' OR state = 'sent' OR state = 'deferred' OR state = 'failed' OR state = 'bounced' OR state = 'skipped' OR state = 'unconfirmed'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    unconfirmed     INTEGER NOT NULL DEFAULT 0,   -- attempts whose message went out but whose reply was lost
    next_attempt_at INTEGER,
    last_reply      TEXT,             -- the server's reply (or the connection error) of the last attempt
    updated_at      INTEGER,
    sent_at         INTEGER,
    UNIQUE (issue_id, subscriber_id)
) STRICT;
INSERT INTO deliveries (id, issue_id, subscriber_id, state, attempts, next_attempt_at, last_reply,
                        updated_at, sent_at)
    SELECT id, issue_id, subscriber_id, state, attempts, next_attempt_at, last_reply, updated_at, sent_at
    FROM deliveries_copy ORDER BY id;
DROP TABLE deliveries_copy;
-- Claiming walks this index: (issue, state) then id order, so a batch costs the same at 10k or 1M rows.
CREATE INDEX deliveries_work ON deliveries (issue_id, state, id);

-- One row per recipient a returned report (or a refusal while sending) names.
CREATE TABLE bounces (
    id            INTEGER PRIMARY KEY,
    received_at   INTEGER NOT NULL,
    source        TEXT NOT NULL
                  CHECK (source = 'smtp' OR source = 'pipe' OR source = 'maildir' OR source = 'imap'),
    kind          TEXT NOT NULL
                  CHECK (kind = 'bounce' OR kind = 'complaint' OR kind = 'auto_reply' OR kind = 'delivered' OR kind = 'other'),
    class         TEXT CHECK (class = 'hard' OR class = 'soft'),
    reason        TEXT,               -- BounceReason's name
    status        TEXT,               -- RFC 3463 enhanced status, e.g. 5.1.1
    reply_code    INTEGER,
    action        TEXT,               -- DSN action: failed, delayed, delivered, relayed, expanded
    diagnostic    TEXT,
    remote_mta    TEXT,
    recipient     TEXT,               -- the address the report names (lower-cased)
    delivery_id   INTEGER REFERENCES deliveries(id),
    issue_id      INTEGER REFERENCES issues(id),
    subscriber_id INTEGER REFERENCES subscribers(id),
    list_id       INTEGER REFERENCES lists(id),
    matched_by    TEXT,               -- where the delivery token was found; NULL: unmatched
    effect        TEXT NOT NULL,      -- what herald did about it (BounceEffect's name)
    report_sha256 TEXT,               -- of the raw report: a report delivered twice is recorded once
    position      INTEGER NOT NULL DEFAULT 0,  -- the recipient's place in its report
    raw           BLOB,               -- the raw report, deflate-compressed; NULL after bounce.keep_raw_days
    UNIQUE (report_sha256, position)
) STRICT;

CREATE INDEX bounces_by_issue ON bounces (issue_id, kind);
CREATE INDEX bounces_by_delivery ON bounces (delivery_id);
CREATE INDEX bounces_by_time ON bounces (received_at);

-- Addresses stopped on every list (bounce.suppress = "all_lists"): an import or `subscriber add` of
-- one of these on any list starts it in this status, never `active`.
CREATE TABLE suppressions (
    email       TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status = 'bounced' OR status = 'complained'),
    reason      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
