-- The (track_id, artist_id) of every track that feature extraction did not reject, by track id.
SELECT track_id, artist_id FROM track
WHERE track_id NOT IN (SELECT track_id FROM feature_reject)
ORDER BY track_id;
