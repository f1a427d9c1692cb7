-- Close an extraction run: its counts come from the rows it wrote, and what its record calls kept as they were
-- ($unchanged feature rows, $skipped tracks: musim.features.extract.Recorded, summed over its batches).
UPDATE feature_build SET
    status = $status,
    computed = (SELECT count(*) FROM track_mel WHERE run_id = $run_id)
             + (SELECT count(*) FROM track_descriptors WHERE run_id = $run_id) - reused,
    rejected = (SELECT count(*) FROM feature_reject WHERE run_id = $run_id),
    unchanged = $unchanged,
    skipped = $skipped,
    finished_at = $now,
    heartbeat_at = $now
WHERE run_id = $run_id;
