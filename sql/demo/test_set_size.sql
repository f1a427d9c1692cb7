-- How many artists a model test set holds.
SELECT count(*) FROM model_test_artist WHERE test_set_id = $test_set_id;
