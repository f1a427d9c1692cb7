-- The shortest audio the warehouse's features were built from: the lowest --min-duration among the completed feature
-- builds (status 'done'; a running, failed or interrupted build wrote no features to stand on). NULL when no build
-- completed, or none that did recorded a threshold (builds from before migration 013): the caller falls back to
-- MIN_DURATION_S.
SELECT min(min_duration_s) FROM feature_build WHERE status = 'done';
