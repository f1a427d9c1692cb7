-- What closed run $run_id computed, reused and rejected.
SELECT computed, reused, rejected FROM feature_build WHERE run_id = $run_id;
