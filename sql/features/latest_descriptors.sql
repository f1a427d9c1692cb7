-- The latest value of every track of a descriptor view (parameters $params_hash) as of $as_of, as fs_latest
-- (see latest.sql): the rows descriptor_rows_read (migration 031) takes, the rows the features quality gate checks.
CREATE OR REPLACE TEMP TABLE fs_latest AS
SELECT track_id AS entity_key, vec AS payload, created_at
FROM descriptor_rows_read($as_of)
WHERE params_hash = $params_hash;
