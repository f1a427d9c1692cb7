-- The latest recorded result of every dataset (only $dataset's, and only of dumps whose id starts with $dump_id,
-- when they are not null), newest first.
SELECT run_id, dataset, dump_id, version, status, success, expectations, failed, rows_total, rows_validated,
       sampled, failures, details, docs_url, seconds, created_at
FROM quality_result
WHERE ($dataset IS NULL OR dataset = $dataset)
  AND ($dump_id IS NULL OR starts_with(dump_id, $dump_id))
QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY created_at DESC, run_id DESC) = 1
ORDER BY created_at DESC, run_id DESC, dataset;
