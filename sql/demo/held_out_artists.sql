-- Names of a test set's artists, most listened (in dump $dump_id) first.
SELECT a.name FROM model_test_artist t JOIN artist a USING (artist_id)
JOIN artist_listeners l ON l.artist_id = t.artist_id
WHERE t.test_set_id = $test_set_id AND l.dump_id = $dump_id
ORDER BY l.listeners DESC;
