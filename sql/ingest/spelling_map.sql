-- The artist id given to each spelling of the C engine's rows (stage_spelling_map of load_dump.sql).
SELECT spelling_ref, artist_id FROM stage_spelling_map;
