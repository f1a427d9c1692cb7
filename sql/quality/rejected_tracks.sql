-- How many distinct tracks feature extraction rejected.
SELECT count(DISTINCT track_id) FROM feature_reject;
