-- The latest data-quality result of every dataset (each DAG's gate records its own datasets), failures first.
SELECT run_id, dataset, dump_id, version, status, success, expectations, failed, rows_total, rows_validated,
       sampled, failures, docs_url, seconds, created_at
FROM quality_result
QUALIFY row_number() OVER (PARTITION BY dataset ORDER BY created_at DESC, run_id DESC) = 1
ORDER BY status = 'failed' DESC, dataset;
