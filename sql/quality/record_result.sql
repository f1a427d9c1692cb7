-- One dataset's result of quality run $run_id ($failures and $details: JSON).
INSERT INTO quality_result (run_id, dataset, dump_id, version, status, success, expectations, failed, rows_total,
                            rows_validated, sampled, failures, details, docs_url, seconds, created_at)
VALUES ($run_id, $dataset, $dump_id, $version, $status, $success, $expectations, $failed, $rows_total,
        $rows_validated, $sampled, $failures, $details, $docs_url, $seconds, $created_at);
