-- The values of a descriptor view: one vector per (track, time it became available); and each rejection of the
-- track's audio by the descriptor extractor as a NULL payload at the time it was made (no value from then; see
-- source_tensor.sql). The rows a recompute replaced or withdrew and the rejections a value cleared
-- (feature_superseded, migration 033) come with valid_to, when they ended; the current rows have none.
CREATE OR REPLACE TEMP TABLE fs_source AS
SELECT track_id AS entity_key, created_at, vec AS payload, NULL::TIMESTAMPTZ AS valid_to
FROM track_descriptors
WHERE params_hash = $params_hash
UNION ALL
SELECT track_id AS entity_key, created_at, NULL::DOUBLE[] AS payload, NULL::TIMESTAMPTZ AS valid_to
FROM feature_reject
WHERE kind = 'descriptors' AND params_hash = $params_hash
UNION ALL
SELECT track_id AS entity_key, created_at, vec AS payload, superseded_at AS valid_to
FROM feature_superseded
WHERE kind = 'descriptors' AND params_hash = $params_hash;
