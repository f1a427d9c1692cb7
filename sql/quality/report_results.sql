-- The recorded results of one quality run, one row per dataset.
SELECT run_id, dataset, dump_id, version, status, success, expectations, failed, rows_total, rows_validated,
       sampled, failures, details, docs_url, seconds, created_at
FROM quality_result WHERE run_id = $run_id ORDER BY dataset;
