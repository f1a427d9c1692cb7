-- The descriptor rows readers take, defined once: at $as_of (NULL: every row made so far), each track's newest
-- track_descriptors row per parameter set, unless a rejection of the same track and parameters (feature_reject,
-- kind 'descriptors') made after it and by $as_of withdrew it (the track has no value then). At the same moment a
-- value wins over a rejection. Two rows of one track, parameters and moment (the invariant
-- descriptor_duplicate_rows fails on them) give one of them.
--
-- The feature store's readers (sql/features/latest_descriptors.sql: online snapshots, materialised artist means,
-- the local cache) and the features quality gate (sql/quality/features_descriptors_base.sql,
-- features_invariants.sql, features_examples.sql) all read through it, so a row the gate does not check is a row no
-- reader is served, and a row that blocks the gate is one readers would take. Rows a re-read or a recompute
-- superseded are neither.
CREATE OR REPLACE MACRO descriptor_rows_read(as_of) AS TABLE
SELECT y.* EXCLUDE (newest_)
FROM (SELECT x.*,
             row_number() OVER (PARTITION BY x.params_hash, x.track_id ORDER BY x.created_at DESC) = 1 AS newest_
      FROM track_descriptors x
      WHERE as_of IS NULL OR x.created_at <= as_of) y
WHERE y.newest_
  AND NOT EXISTS (SELECT 1 FROM feature_reject r
                  WHERE r.kind = 'descriptors' AND r.params_hash = y.params_hash AND r.track_id = y.track_id
                    AND r.created_at > y.created_at AND (as_of IS NULL OR r.created_at <= as_of));
