-- The outcome of almost every attempt is `sending` → `sent`. With every row in `(issue_id, state, id)`
-- that moved the row's entry from one end of the issue's range to the other: two index pages
-- rewritten per outcome commit beside the row's own page. Leaving sent rows out, an outcome only
-- deletes an entry from the page where the issue's `sending` entries sit together.
-- SQLite uses a partial index only for statements that state its condition word for word, so the
-- statements that find deliveries by state add `state <> 'sent'` (`UNSENT` in
-- `src/store/sqlite/deliveries.rs`); the sent count is the issue's total less the rest.
DROP INDEX deliveries_work;
CREATE INDEX deliveries_unsent ON deliveries (issue_id, state, id) WHERE state <> 'sent';
