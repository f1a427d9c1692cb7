-- In a new snapshot (its own connection): what it serves (sql/serving/served_state.sql's rows, registered as
-- pub_served_state by musim.snapshots), kept with it for listing, pruning and rollback.
CREATE TABLE served_state AS SELECT part, item, detail FROM pub_served_state;
COMMENT ON TABLE served_state IS 'Internal (musim publish --list, prune, rollback): what this snapshot serves, one row per build or model version and its fingerprint.';
