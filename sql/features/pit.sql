-- Point-in-time join: for each entity row (fs_entities: row_id, entity_key, as_of) the latest value of the
-- view (fs_source) created at or before the row's as_of; NULL when there is none, when the latest row then is a
-- rejection of the track's audio (a NULL payload, see source_tensor.sql), or when it had ended by then (valid_to: a
-- superseded row whose successor is gone). Never a later value.
CREATE OR REPLACE TEMP TABLE fs_pit AS
SELECT e.row_id, CASE WHEN s.valid_to IS NULL OR e.as_of < s.valid_to THEN s.payload END AS payload, s.created_at
FROM fs_entities e
ASOF LEFT JOIN fs_source s
  ON e.entity_key = s.entity_key AND e.as_of >= s.created_at;
