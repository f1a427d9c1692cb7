-- How many result rows run $run_id took over from identical audio already computed: the rows plan.sql just wrote
-- (stamped $now, the plan's moment), plus those an earlier plan of the same run took over (a DAG run planned again
-- keeps its run id: start_build.sql replaces its row). Rows of the run made at another moment were computed by it (an
-- earlier attempt's recorded batches): closing the run counts them computed (finish.sql), not reused.
SELECT (SELECT count(*) FROM track_mel WHERE run_id = $run_id AND created_at = $now)
     + (SELECT count(*) FROM track_descriptors WHERE run_id = $run_id AND created_at = $now)
     + coalesce((SELECT reused FROM feature_build WHERE run_id = $run_id), 0);
