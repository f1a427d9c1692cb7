-- The cluster of each query of a test set whose queries are not independent: in an evaluation by artist identity
-- the queries are track positions and their cluster is the track's artist. The paired bootstrap of a promotion
-- or comparison resamples whole clusters (tracks of one artist are not independent evidence: resampling tracks
-- gave a 95% interval half as wide as resampling artists). A test set of artist queries has no rows here.
CREATE TABLE IF NOT EXISTS model_query_cluster (
    test_set_id VARCHAR NOT NULL,                     -- model_test_artist.test_set_id
    query_id    INTEGER NOT NULL,                     -- model_eval_query.artist_id (the query)
    cluster_id  INTEGER NOT NULL,                     -- the query track's artist
    PRIMARY KEY (test_set_id, query_id)
);
