-- Per-query values (artist_id, value) of one scorer and metric in a version's evaluation.
SELECT artist_id, value FROM model_eval_query WHERE version = $version AND scorer = $scorer AND metric = $metric;
