-- The serving model's champion in a warehouse or snapshot without audio neighbour tables yet: the most recently
-- promoted champion, never published (see serving_model.sql).
SELECT version, NULL AS published_at FROM model_registry WHERE status = 'champion' ORDER BY status_at DESC, version LIMIT 1
