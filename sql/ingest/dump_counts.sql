-- The users and artists of the dump being loaded (the staging maps of load_dump.sql).
SELECT (SELECT count(DISTINCT user_id) FROM stage_user_map), (SELECT count(DISTINCT artist_id) FROM stage_spelling_map);
