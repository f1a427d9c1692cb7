-- The artists of a test set.
SELECT artist_id FROM model_test_artist WHERE test_set_id = $test_set_id;
