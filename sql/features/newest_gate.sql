-- The feature build whose features gate ran (or was skipped) last: run id, quality run, outcome, when checked.
-- By when the gate was checked, not when the build started: a long build started first and gated last decides.
SELECT run_id, quality_run_id, quality_status, quality_checked_at FROM feature_build
WHERE quality_status IS NOT NULL
ORDER BY quality_checked_at DESC, started_at DESC, run_id
LIMIT 1;
