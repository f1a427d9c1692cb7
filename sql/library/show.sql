-- One library track by id (or id prefix) or source path ($path: the path as given, made absolute), with every
-- recorded field.
SELECT a.name AS artist, a.lastfm_match, a.spellings, CAST(a.mbid AS VARCHAR) AS mbid, t.*
FROM library_track t
JOIN library_artist a USING (artist_id)
WHERE t.track_id = $track OR t.source_path = $track OR t.source_path = $path OR (length($track) >= 6 AND starts_with(t.track_id, $track))
ORDER BY t.track_id
