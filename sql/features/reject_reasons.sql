-- The rejections of run $run_id per reason.
SELECT reason, count(*) FROM feature_reject WHERE run_id = $run_id GROUP BY reason ORDER BY reason;
