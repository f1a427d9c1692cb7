-- The registry row (all columns) of one model version, or none.
SELECT version, family, seq, run_id, status, params, feature_service, dump_id, snapshot_id, target_metric,
       test_set_id, primary_metric, metrics, training, object_prefix, created_at, status_at
FROM model_registry
WHERE version = $version;
