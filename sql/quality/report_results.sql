-- The recorded results of one quality run, one row per dataset (only $dataset's, and only of dumps whose id starts
-- with $dump_id, when they are not null).
SELECT run_id, dataset, dump_id, version, status, success, expectations, failed, rows_total, rows_validated,
       sampled, failures, details, docs_url, seconds, created_at
FROM quality_result
WHERE run_id = $run_id
  AND ($dataset IS NULL OR dataset = $dataset)
  AND ($dump_id IS NULL OR starts_with(dump_id, $dump_id))
ORDER BY dataset;
