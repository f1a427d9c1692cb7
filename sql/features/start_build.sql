-- Register run $run_id as running, with what its plan found ($extractors: JSON list of kind and params_hash)
-- and its --min-duration (a 'too_short' rejection of this run is final for runs with at least that threshold).
-- Planning is its first heartbeat; $heartbeat_key: where its compute tasks beat in the object store (DAG builds).
DELETE FROM feature_build WHERE run_id = $run_id;
INSERT INTO feature_build (run_id, status, extractors, tracks, items_planned, reused, preview_set, dump_id,
                           min_duration_s, started_at, heartbeat_at, heartbeat_key)
VALUES ($run_id, 'running', $extractors, $tracks, $items_planned, $reused, $preview_set, $dump_id, $min_duration_s,
        $now, $now, $heartbeat_key);
