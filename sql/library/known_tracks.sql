-- Every stored library file by content hash, with where it came from and its artist (a rerun's lookup).
SELECT t.source_sha256, t.source_path, t.track_id, t.artist_id, a.name AS artist, CAST(a.mbid AS VARCHAR) AS mbid
FROM library_track t
JOIN library_artist a USING (artist_id)
