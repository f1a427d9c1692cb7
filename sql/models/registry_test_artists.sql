-- Records the artists $artists of a test set (once each).
INSERT OR IGNORE INTO model_test_artist SELECT $test_set_id, unnest($artists);
