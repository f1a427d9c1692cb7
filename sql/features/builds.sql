-- Feature builds, newest first (at most $limit; those of the extractors $params_hashes, or all when NULL), with the
-- state a reader is shown: 'interrupted' for a build still 'running' whose last heartbeat in the warehouse is before
-- $stale_before (a DAG build may still beat in the object store, at heartbeat_key: musim.features.builds reads it),
-- and for a build stopped with Ctrl-C, which closed its row 'interrupted' itself (migration 037).
-- A build not closed counts what it recorded so far, as closing it would (finish.sql). quality_status, quality_run_id:
-- its features gate's outcome (passed, failed, skipped; NULL: not gated, migration 029). unchanged, skipped: what a
-- recompute kept as it was, written when the build closes (NULL before that, and for builds closed before migration
-- 035).
SELECT b.run_id,
       CASE WHEN b.status = 'running' AND b.heartbeat_at < $stale_before THEN 'interrupted' ELSE b.status END AS state,
       b.status, b.started_at, b.heartbeat_at, b.finished_at, b.heartbeat_key, b.tracks, b.items_planned, b.reused,
       CASE WHEN b.finished_at IS NULL
            THEN (SELECT count(*) FROM track_mel m WHERE m.run_id = b.run_id)
                 + (SELECT count(*) FROM track_descriptors d WHERE d.run_id = b.run_id) - b.reused
            ELSE b.computed END AS computed,
       CASE WHEN b.finished_at IS NULL
            THEN (SELECT count(*) FROM feature_reject r WHERE r.run_id = b.run_id)
            ELSE b.rejected END AS rejected,
       b.unchanged, b.skipped,
       json_extract_string(b.extractors, '$[*].params_hash') AS params_hashes,
       b.quality_status, b.quality_run_id
FROM feature_build b
WHERE $params_hashes IS NULL
   OR list_has_any(json_extract_string(b.extractors, '$[*].params_hash'), $params_hashes::VARCHAR[])
ORDER BY b.started_at DESC, b.run_id
LIMIT $limit;
