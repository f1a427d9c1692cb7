-- The newest feature build whose features gate ran (or was skipped): run id, quality run, outcome, when checked.
SELECT run_id, quality_run_id, quality_status, quality_checked_at FROM feature_build
WHERE quality_status IS NOT NULL
ORDER BY started_at DESC, run_id
LIMIT 1;
