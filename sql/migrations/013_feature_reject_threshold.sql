-- A 'too_short' rejection depends on the run's --min-duration: it is final only for a later run whose threshold
-- is at least as long. The threshold is kept with each run (feature_build) and each rejection (feature_reject),
-- so a build with a lower threshold examines those previews again instead of skipping them for good. Rows from
-- before this migration have none and stay final, as they were.
ALTER TABLE feature_build ADD COLUMN min_duration_s DOUBLE;
ALTER TABLE feature_reject ADD COLUMN min_duration_s DOUBLE;
