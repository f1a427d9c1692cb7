-- The top $k audio neighbours of artist $artist_id by model version $model, best first (artist_neighbors_audio,
-- migration 008), with each neighbour's listeners in dump $dump_id (none for a music library without
-- listening data).
SELECT n.neighbor_id AS artist_id, a.name AS artist, n.score, n.rank, l.listeners
FROM artist_neighbors_audio n
LEFT JOIN artist a ON a.artist_id = n.neighbor_id
LEFT JOIN artist_listeners l ON l.artist_id = n.neighbor_id AND l.dump_id = $dump_id
WHERE n.model_version = $model AND n.artist_id = $artist_id AND n.neighbor_id <> $artist_id
ORDER BY n.rank
LIMIT $k;
