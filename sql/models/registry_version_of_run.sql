-- The model version a run id registered, or none.
SELECT version FROM model_registry WHERE run_id = $run_id;
