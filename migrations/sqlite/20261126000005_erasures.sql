-- Erasure at a person's request (issue 11): their subscribers rows, deliveries and the personal parts
-- of their bounce records are deleted; what stays is a salted SHA-256 of the address (the salt is the
-- `erasure_salt` setting), so that an import or an operator's add cannot bring the address back. A
-- suppression (bounced or complained on every list) moves here as `status`, without the address.
CREATE TABLE erasures (
    hash        BLOB PRIMARY KEY,
    status      TEXT CHECK (status = 'bounced' OR status = 'complained'),
    erased_at   INTEGER NOT NULL
) STRICT;
