-- Records the cluster (the query track's artist) of each query of a test set (once each).
INSERT OR IGNORE INTO model_query_cluster SELECT $test_set_id, unnest($queries), unnest($clusters);
