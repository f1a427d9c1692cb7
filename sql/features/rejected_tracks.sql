-- The tracks run $run_id rejected, per reason (each counted once, whatever number of extractors rejected its audio).
SELECT reason, count(DISTINCT track_id) FROM feature_reject WHERE run_id = $run_id GROUP BY reason ORDER BY reason;
