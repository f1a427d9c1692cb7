-- One library track by id (or id prefix of 6+ characters; $id: as given, trimmed and in lower case, as ids are written)
-- or source path ($track as given; $path: made absolute), with every recorded field.
SELECT a.name AS artist, a.lastfm_match, a.spellings, CAST(a.mbid AS VARCHAR) AS mbid, t.*
FROM library_track t
JOIN library_artist a USING (artist_id)
WHERE t.track_id = $id OR t.source_path = $track OR t.source_path = $path OR (length($id) >= 6 AND starts_with(t.track_id, $id))
ORDER BY t.track_id
