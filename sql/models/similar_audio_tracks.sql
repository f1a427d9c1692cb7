-- The scored tracks of the registered frame `q_tracks` (track_id, score) with their artist, title and
-- the artist's listeners in the latest dump (NULL: no listening data) — read from a serving snapshot.
SELECT q.track_id, q.score, t.artist_id, a.name AS artist, t.title, l.listeners
FROM q_tracks q
JOIN track t USING (track_id)
LEFT JOIN artist a ON a.artist_id = t.artist_id
LEFT JOIN artist_listeners l ON l.artist_id = t.artist_id AND l.dump_id = (SELECT dump_id FROM latest_dump)
