-- A heartbeat of run $run_id while it is running (a step or batch done, or work going on between batches).
UPDATE feature_build SET heartbeat_at = $now WHERE run_id = $run_id AND status = 'running';
