-- The values of a materialised view (derived or pushed): one vector per (entity, time it was written); none ends
-- but by a newer row (valid_to: see source_tensor.sql).
CREATE OR REPLACE TEMP TABLE fs_source AS
SELECT entity_id AS entity_key, created_at, vec AS payload, NULL::TIMESTAMPTZ AS valid_to
FROM feature_value
WHERE view_name = $view_name AND view_version = $view_version;
