-- The top $k audio neighbours of artist $artist_id by model version $model, best first (artist_neighbors_audio,
-- migration 008), with each neighbour's MBID (text), listeners in dump $dump_id (none for a music library without
-- listening data) and whether another artist has its normalised name (shared_name: its id tells them apart).
SELECT n.neighbor_id AS artist_id, a.name AS artist, a.mbid::VARCHAR AS mbid, n.score, n.rank, l.listeners,
       coalesce((SELECT count(*) FROM artist o WHERE o.name_norm = a.name_norm), 0) > 1 AS shared_name
FROM artist_neighbors_audio n
LEFT JOIN artist a ON a.artist_id = n.neighbor_id
LEFT JOIN artist_listeners l ON l.artist_id = n.neighbor_id AND l.dump_id = $dump_id
WHERE n.model_version = $model AND n.artist_id = $artist_id AND n.neighbor_id <> $artist_id
ORDER BY n.rank
LIMIT $k;
