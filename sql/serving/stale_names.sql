-- The stale names (sql/serving/stale_name_keys.sql): artist_id, name, simple (keyed in SQL already).
SELECT artist_id, name, simple FROM stale_names;
