-- The top $k audio neighbours of track $track_id by model version $model, best first (track_neighbors,
-- migration 008), with their titles and artists: only tracks the snapshot's track table holds (a track removed
-- from the library since the model was published is not served: `musim library remove` publishes anew).
SELECT n.neighbor_track_id AS track_id, t.title, a.name AS artist, n.score, n.rank
FROM track_neighbors n
JOIN track t ON t.track_id = n.neighbor_track_id
LEFT JOIN artist a ON a.artist_id = t.artist_id
WHERE n.model_version = $model AND n.track_id = $track_id AND n.neighbor_track_id <> $track_id
ORDER BY n.rank
LIMIT $k;
