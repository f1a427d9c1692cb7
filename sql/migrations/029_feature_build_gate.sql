-- The features quality gate's outcome of each feature build (write → audit → publish): the quality run that checked
-- the build's data (`musim quality report --dataset features`) and what it said: 'passed', 'failed', or 'skipped'
-- (built with --skip-quality). A failed gate leaves no derived value of the build (artist means are withdrawn) and
-- stops training while it is the newest outcome. NULL: not gated yet (a DAG build before its check_quality task),
-- or a build from before this migration.
ALTER TABLE feature_build ADD COLUMN quality_run_id VARCHAR;
ALTER TABLE feature_build ADD COLUMN quality_status VARCHAR;
ALTER TABLE feature_build ADD COLUMN quality_checked_at TIMESTAMPTZ;
