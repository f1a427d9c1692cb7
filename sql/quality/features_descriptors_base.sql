-- The descriptor rows GX validates row by row: the rows readers take now (each track's newest row per parameter
-- set unless a newer rejection withdrew it, as sql/features/latest.sql; see features_invariants.sql `cur_rows`).
-- Rows a re-read or a recompute superseded are not read and do not block the gate.
SELECT y.params_hash, y.track_id, y.sha256, y.audio_id, y.vec, y.tonic_pc, y.key_name
FROM (SELECT x.*, row_number() OVER (PARTITION BY x.params_hash, x.track_id ORDER BY x.created_at DESC) = 1 AS newest
      FROM track_descriptors x) y
WHERE y.newest
  AND NOT EXISTS (SELECT 1 FROM feature_reject r WHERE r.kind = 'descriptors' AND r.params_hash = y.params_hash
                  AND r.track_id = y.track_id AND r.created_at > y.created_at);
