-- One track with its artist's name.
SELECT t.track_id, t.title, a.name AS artist, t.artist_id, t.genre, t.provider, t.duration_s
FROM track t
LEFT JOIN artist a ON a.artist_id = t.artist_id
WHERE t.track_id = $track_id;
