-- Store the name keys of the registered frame pub_new_name_keys (artist_id, name, name_key), made by rule $rule
-- (their stale keys are out already: sql/serving/stale_name_keys.sql).
INSERT INTO artist_name_key SELECT artist_id, name, name_key, $rule FROM pub_new_name_keys;
DROP TABLE stale_names;
