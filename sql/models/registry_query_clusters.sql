-- The cluster of each query (query_id, cluster_id) of a test set; none when its queries are artists.
SELECT query_id, cluster_id FROM model_query_cluster WHERE test_set_id = $test_set_id;
