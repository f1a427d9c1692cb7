-- The ten most recently registered model versions, optionally of one family (for a "not found" message).
SELECT version FROM model_registry
WHERE ($family IS NULL OR family = $family)
ORDER BY created_at DESC, family, seq DESC
LIMIT 10;
