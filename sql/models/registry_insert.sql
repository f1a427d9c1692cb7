-- Registers one model version (a row of model_registry).
INSERT INTO model_registry (version, family, seq, run_id, status, params, feature_service, dump_id, snapshot_id, target_metric,
       test_set_id, primary_metric, metrics, training, object_prefix, created_at, status_at)
VALUES ($version, $family, $seq, $run_id, $status, $params, $feature_service, $dump_id, $snapshot_id,
        $target_metric, $test_set_id, $primary_metric, $metrics, $training, $object_prefix, $created_at,
        $status_at);
