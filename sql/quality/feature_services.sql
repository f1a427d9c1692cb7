-- The names of every registered feature service, sorted.
SELECT name FROM feature_service ORDER BY name;
