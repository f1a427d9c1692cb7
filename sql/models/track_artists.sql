-- The artist of each track of the registered frame `models_track_ids` (track_id, pos).
SELECT i.pos, t.artist_id
FROM models_track_ids i
JOIN track t USING (track_id)
