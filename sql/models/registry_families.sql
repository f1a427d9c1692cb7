-- The distinct model families registered, sorted.
SELECT DISTINCT family FROM model_registry ORDER BY family;
