-- Every track with its artist id, title, genre (null when blank) and artist name ('' when unknown), each
-- artist's tracks in order of preference (most popular at the provider first).
SELECT t.track_id, t.artist_id, t.title, nullif(trim(t.genre), '') AS genre, coalesce(a.name, '') AS artist
FROM track t LEFT JOIN artist a USING (artist_id)
ORDER BY t.artist_id, t.provider_rank NULLS LAST, t.added_at, t.track_id;
