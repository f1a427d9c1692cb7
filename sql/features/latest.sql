-- The latest value of every entity of a view (fs_source) as of $as_of.
CREATE OR REPLACE TEMP TABLE fs_latest AS
SELECT entity_key, payload, created_at
FROM fs_source
WHERE created_at <= $as_of
QUALIFY row_number() OVER (PARTITION BY entity_key ORDER BY created_at DESC) = 1;
