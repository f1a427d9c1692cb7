-- What closed run $run_id computed, reused, rejected, found unchanged (feature rows) and skipped (tracks).
SELECT computed, reused, rejected, unchanged, skipped FROM feature_build WHERE run_id = $run_id;
