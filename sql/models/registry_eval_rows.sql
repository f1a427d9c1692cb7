-- Appends a version's per-query evaluation values from the registered frame models_eval_rows.
INSERT INTO model_eval_query SELECT version, scorer, metric, artist_id, value FROM models_eval_rows;
