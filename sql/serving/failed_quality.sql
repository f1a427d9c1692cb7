-- A similarity build that must not be published (similarity_build_state, migration 018): its latest quality check
-- (at or after the build) failed, or it is a gated build whose check never finished. (run_id or NULL, dump_id),
-- a failed check first, or none.
SELECT check_run_id, dump_id FROM similarity_build_state
WHERE NOT servable
ORDER BY check_run_id IS NULL, dump_id
LIMIT 1;
