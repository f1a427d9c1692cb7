-- Register run $run_id as running, with what its plan found ($extractors: JSON list of kind and params_hash).
DELETE FROM feature_build WHERE run_id = $run_id;
INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, reused, preview_set, dump_id,
                           started_at)
VALUES ($run_id, 'running', $extractors, $tracks, $items_planned, $reused, $preview_set, $dump_id, $now);
