-- Every track with a tensor in `fs_latest` (the log-mel view, latest values): what a published model
-- embeds — artists without listening data included (cold start).
SELECT t.track_id, t.artist_id, l.payload AS object_key
FROM fs_latest l
JOIN track t ON t.track_id = l.entity_key
ORDER BY t.artist_id, t.provider_rank NULLS LAST, t.track_id
