-- The values of a tensor view: one object key per (track, time it became available); and each rejection of the
-- track's audio by this extractor as a NULL payload at the time it was made (the track had no value from then: a
-- `library add` that read an excerpt again whose new audio the next build rejected). A newer value (the same audio
-- accepted later, or new audio) comes after it; readers of a moment before it still get the older value. The rows a
-- recompute replaced or withdrew and the rejections a value cleared (feature_superseded, migration 033) come with
-- valid_to, when they ended; the current rows have none.
CREATE OR REPLACE TEMP TABLE fs_source AS
SELECT track_id AS entity_key, created_at, object_key AS payload, NULL::TIMESTAMPTZ AS valid_to
FROM track_mel
WHERE kind = $kind AND params_hash = $params_hash
UNION ALL
SELECT track_id AS entity_key, created_at, NULL AS payload, NULL::TIMESTAMPTZ AS valid_to
FROM feature_reject
WHERE kind = $kind AND params_hash = $params_hash
UNION ALL
SELECT track_id AS entity_key, created_at, object_key AS payload, superseded_at AS valid_to
FROM feature_superseded
WHERE kind = $kind AND params_hash = $params_hash;
