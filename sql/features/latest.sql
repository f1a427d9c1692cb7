-- The latest value of every entity of a tensor or materialised view (fs_source) as of $as_of; an entity whose
-- latest row is a rejection (a NULL payload, see source_tensor.sql) or had ended by then (valid_to) has none. At the
-- same moment a value wins over a rejection (and a current row over an ended one), as in pit.sql. A descriptor view
-- reads latest_descriptors.sql instead (the rows the features quality gate checks).
CREATE OR REPLACE TEMP TABLE fs_latest AS
SELECT entity_key, payload, created_at
FROM (SELECT entity_key, payload, created_at, valid_to
      FROM fs_source
      WHERE created_at <= $as_of
      QUALIFY row_number() OVER (PARTITION BY entity_key
                                 ORDER BY created_at DESC, payload IS NULL, valid_to DESC NULLS FIRST) = 1)
WHERE payload IS NOT NULL AND (valid_to IS NULL OR $as_of < valid_to);
