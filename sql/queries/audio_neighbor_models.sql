-- The model versions artist_neighbors_audio holds (migration 008), the newest publication first.
SELECT model_version AS model, count(*) AS n_rows, max(created_at) AS newest
FROM artist_neighbors_audio
GROUP BY model_version
ORDER BY newest DESC, model DESC
LIMIT 50;
