-- The scored artists of the registered frame `q_artists` (artist_id, score) that have tracks, with their
-- name and listeners in the latest dump (NULL: no listening data) — read from a serving snapshot.
SELECT q.artist_id, q.score, a.name AS artist, l.listeners
FROM q_artists q
LEFT JOIN artist a ON a.artist_id = q.artist_id
LEFT JOIN artist_listeners l ON l.artist_id = q.artist_id AND l.dump_id = (SELECT dump_id FROM latest_dump)
WHERE EXISTS (SELECT 1 FROM track t WHERE t.artist_id = q.artist_id)
