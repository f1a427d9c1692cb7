-- The features gate's outcome of build $run_id: the quality run $quality_run_id ('passed', 'failed' or 'skipped').
UPDATE feature_build SET quality_run_id = $quality_run_id, quality_status = $quality_status, quality_checked_at = $now
WHERE run_id = $run_id;
