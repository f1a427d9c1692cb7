-- What earlier runs did for the artists of plan_todo: each preview tried, with its status and attempts.
SELECT p.artist_id, p.track_id, p.status, p.attempts
FROM preview p
JOIN plan_todo t USING (artist_id)
ORDER BY p.artist_id, p.track_id
