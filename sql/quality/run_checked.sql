-- What one quality run checked: each dataset with the dump it checked (null for a dataset of no dump), by dataset.
SELECT DISTINCT dataset, dump_id FROM quality_result WHERE run_id = $run_id ORDER BY dataset, dump_id;
