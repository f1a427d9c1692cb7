-- The rows of a snapshot's pair lookup: read when a snapshot is checked before it is served again (rollback).
SELECT count(*) FROM pair_lookup;
