-- The catalogue artists with work left, in catalogue order: never fetched (pending), matched only,
-- failed with attempts below $max_attempts, without audio so far but with a provider not asked yet
-- ($providers), or downloaded with fewer previews asked for than $per_artist; with $retry, also the artists
-- given up (matched nothing, no preview, only rejects) or failed past $max_attempts, and those with a preview
-- that failed or was rejected.
SELECT a.artist_id, a.name
FROM acquire_artist a
JOIN plan_catalogue c USING (artist_id)
WHERE a.status IN ('pending', 'matched')
   OR (a.status = 'failed' AND a.attempts < $max_attempts)
   OR (a.status IN ('no_match', 'no_preview', 'rejected') AND NOT list_has_all(a.providers_tried, $providers))
   OR (a.status = 'downloaded' AND coalesce(a.wanted, 0) < $per_artist)
   OR ($retry AND (a.status IN ('no_match', 'no_preview', 'rejected', 'failed')
                   OR EXISTS (SELECT 1 FROM preview p WHERE p.artist_id = a.artist_id
                                                       AND p.status IN ('failed', 'rejected'))))
ORDER BY c.catalogue_rank
