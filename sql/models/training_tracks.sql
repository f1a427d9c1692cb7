-- The tracks with a tensor in `fs_latest` (musim.features.sources.load_latest of the log-mel view at the
-- training set's as_of) whose artist is in the registered frame `models_artists` (the catalogue), with
-- the tensor's object key; each artist's tracks in order of preference (most popular at the provider
-- first), which is the order the training set takes its clips in.
SELECT t.track_id, t.artist_id, l.payload AS object_key
FROM fs_latest l
JOIN track t ON t.track_id = l.entity_key
SEMI JOIN models_artists a ON a.artist_id = t.artist_id
ORDER BY t.artist_id, t.provider_rank NULLS LAST, t.track_id
