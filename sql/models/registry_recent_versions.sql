-- The ten most recently registered model versions (for a "not found" message).
SELECT version FROM model_registry ORDER BY created_at DESC LIMIT 10;
