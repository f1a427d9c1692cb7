-- What earlier runs did for the artists of plan_todo: each preview tried, with its status and attempts
-- (with $retry, failed and rejected previews are left out: they are tried again).
SELECT p.artist_id, p.track_id, p.status, p.attempts
FROM preview p
JOIN plan_todo t USING (artist_id)
WHERE NOT ($retry AND p.status IN ('failed', 'rejected'))
ORDER BY p.artist_id, p.track_id
