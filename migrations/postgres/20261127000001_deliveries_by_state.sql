-- A delivery changes state twice per attempt (claimed, then its outcome), and each change writes a new
-- row version with an entry in every index that covers it. `(issue_id, state, id)` covered every
-- row, so both changes paid for it; these partial indexes each cover only the rows a claim or a
-- lease check looks for, so an outcome (`sending` → `sent`) adds to none of them.
-- Statements that should use them name the state as a literal (generated from the domain enum):
-- a generic plan cannot match a bound `$n` against an index predicate.
DROP INDEX deliveries_work;
DROP INDEX deliveries_leased;
CREATE INDEX deliveries_pending ON deliveries (issue_id, id) WHERE state = 'pending';
CREATE INDEX deliveries_deferred ON deliveries (issue_id, next_attempt_at, id) WHERE state = 'deferred';
CREATE INDEX deliveries_sending ON deliveries (issue_id, id) WHERE state = 'sending';
