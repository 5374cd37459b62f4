-- Bearer tokens for the admin API (issue 11). Only a SHA-256 hash of each token is kept; `prefix` (the
-- token's first characters after `hld_`, random) finds the row, then the hashes are compared in
-- constant time. A revoked token keeps its row (who had access, until when); a name is unique among
-- the tokens in force.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    hash         BLOB NOT NULL,
    read_only    INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE UNIQUE INDEX api_tokens_name ON api_tokens (name) WHERE revoked_at IS NULL;
