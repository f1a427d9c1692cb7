-- Forget the results of quality run $run_id (a rerun of the same run id replaces them).
DELETE FROM quality_result WHERE run_id = $run_id;
