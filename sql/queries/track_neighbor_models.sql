-- The model versions track_neighbors holds (migration 008), the newest publication first.
SELECT model_version AS model, count(*) AS n_rows, max(created_at) AS newest
FROM track_neighbors
GROUP BY model_version
ORDER BY newest DESC, model DESC
LIMIT 50;
