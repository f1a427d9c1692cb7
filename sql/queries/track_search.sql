-- Tracks whose title or artist name contains $q (case-insensitive), exact titles first, then the
-- artists' most popular tracks.
SELECT t.track_id, t.title, a.name AS artist, t.artist_id, t.genre, t.provider, t.duration_s
FROM track t
LEFT JOIN artist a ON a.artist_id = t.artist_id
WHERE contains(lower(t.title), $q) OR contains(a.name_norm, $q)
ORDER BY lower(t.title) = $q DESC, a.name_norm = $q DESC, starts_with(lower(t.title), $q) DESC,
         a.name, coalesce(t.provider_rank, 32767), t.title, t.track_id
LIMIT $limit;
