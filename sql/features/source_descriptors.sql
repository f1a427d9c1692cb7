-- The values of a descriptor view: one vector per (track, time it became available); and each rejection of the
-- track's audio by the descriptor extractor as a NULL payload at the time it was made (no value from then; see
-- source_tensor.sql).
CREATE OR REPLACE TEMP TABLE fs_source AS
SELECT track_id AS entity_key, created_at, vec AS payload
FROM track_descriptors
WHERE params_hash = $params_hash
UNION ALL
SELECT track_id AS entity_key, created_at, NULL::DOUBLE[] AS payload
FROM feature_reject
WHERE kind = 'descriptors' AND params_hash = $params_hash;
