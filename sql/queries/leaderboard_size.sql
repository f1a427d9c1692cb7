-- How many models are registered, and their primary metrics (sorted).
SELECT count(*), coalesce(list(DISTINCT primary_metric ORDER BY primary_metric), []) FROM model_registry;
