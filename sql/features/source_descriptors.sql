-- The values of a descriptor view: one vector per (track, time it became available).
CREATE OR REPLACE TEMP TABLE fs_source AS
SELECT track_id AS entity_key, created_at, vec AS payload
FROM track_descriptors
WHERE params_hash = $params_hash;
