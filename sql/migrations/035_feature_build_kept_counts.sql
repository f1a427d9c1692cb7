-- A feature build's row kept computed, reused and rejected, but not the two counts `musim features build
-- --recompute` prints beside them: the feature rows it found unchanged (kept as they were, with the build that wrote
-- them) and the tracks it skipped (their preview missing from the object store: nothing computed, their rows stay).
-- Closing a build (sql/features/finish.sql: the CLI's build and the audio_features DAG's record task alike) writes
-- both now, 0 when there were none. The rows of builds closed before stay NULL: those counts were never kept, and a
-- recompute before this migration may well have had some, so 0 would claim what no one counted. A build not closed
-- yet (running, interrupted) has NULL too until it closes: they are summed over its recorded batches when it does.
ALTER TABLE feature_build ADD COLUMN unchanged BIGINT;   -- feature rows a recompute found equal to the rows they replace
ALTER TABLE feature_build ADD COLUMN skipped BIGINT;     -- tracks a recompute could not compute again (preview missing)
