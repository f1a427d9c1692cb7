-- The values of a tensor view: one object key per (track, time it became available).
CREATE OR REPLACE TEMP TABLE fs_source AS
SELECT track_id AS entity_key, created_at, object_key AS payload
FROM track_mel
WHERE kind = $kind AND params_hash = $params_hash;
