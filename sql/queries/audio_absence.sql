-- Why artist $artist_id has no audio neighbours in model version $model: whether it is a placeholder (never
-- compared), its tracks (in `track`), and how many of them the version embedded (rows of track_neighbors).
SELECT a.is_placeholder,
       (SELECT count(*) FROM track t WHERE t.artist_id = $artist_id) AS tracks,
       (SELECT count(DISTINCT n.track_id) FROM track_neighbors n
        WHERE n.model_version = $model
          AND n.track_id IN (SELECT track_id FROM track WHERE artist_id = $artist_id)) AS embedded
FROM artist a
WHERE a.artist_id = $artist_id;
