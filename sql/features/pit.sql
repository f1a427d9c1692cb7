-- Point-in-time join: for each entity row (fs_entities: row_id, entity_key, as_of) the latest value of the
-- view (fs_source) created at or before the row's as_of; NULL when there is none, when the latest row then is a
-- rejection of the track's audio (a NULL payload, see source_tensor.sql), or when it had ended by then (valid_to: a
-- superseded row whose successor is gone). Never a later value. At the same moment a value wins over a rejection
-- (and a current row over an ended one), as in latest.sql: the ties are settled before the ASOF join, which would
-- take any one of the rows of a moment, not always the same.
CREATE OR REPLACE TEMP TABLE fs_pit AS
SELECT e.row_id, CASE WHEN s.valid_to IS NULL OR e.as_of < s.valid_to THEN s.payload END AS payload, s.created_at
FROM fs_entities e
ASOF LEFT JOIN (SELECT entity_key, created_at, payload, valid_to
                FROM fs_source
                QUALIFY row_number() OVER (PARTITION BY entity_key, created_at
                                           ORDER BY payload IS NULL, valid_to DESC NULLS FIRST) = 1) s
  ON e.entity_key = s.entity_key AND e.as_of >= s.created_at;
