-- Every registered model (musim.models.registry, migration 007) with what the leaderboard shows.
SELECT version, family, seq, status, primary_metric, target_metric, metrics, dump_id, test_set_id,
       feature_service, object_prefix, created_at, status_at
FROM model_registry
ORDER BY family, seq DESC;
