-- The serving model of a warehouse or snapshot without audio neighbour tables yet: the most recently
-- promoted champion (see serving_model.sql).
SELECT version FROM model_registry WHERE status = 'champion' ORDER BY status_at DESC, version LIMIT 1
