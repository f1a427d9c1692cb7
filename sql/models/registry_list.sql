-- Registered model versions (all registry columns), newest first, optionally of one family and/or status.
SELECT version, family, seq, run_id, status, params, feature_service, dump_id, snapshot_id, target_metric,
       test_set_id, primary_metric, metrics, training, object_prefix, created_at, status_at
FROM model_registry
WHERE ($family IS NULL OR family = $family) AND ($status IS NULL OR status = $status)
ORDER BY created_at DESC, family, seq DESC;
