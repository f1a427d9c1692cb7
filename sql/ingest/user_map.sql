-- The id given to each user of the C engine's rows (stage_user_map of load_dump.sql).
SELECT user_ref, user_id FROM stage_user_map;
