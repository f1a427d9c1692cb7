-- Every stored library file by content hash, with where it came from and its artist (a rerun's lookup), the
-- spelling and key its artist was named by and the rule that named it ('mbid': the file's own MBID tag), and
-- what is stored (an excerpt's window and the reader version that cut it: an older one's is read again; the file's
-- format and length, which a chained file's excerpt cut again replaces), and its
-- album tag (the folder rules, applied again to a moved file, skip a folder named like its album).
SELECT t.source_sha256, t.source_path, t.track_id, t.artist_id, a.name AS artist, CAST(a.mbid AS VARCHAR) AS mbid,
       t.artist_rule, t.artist_spelling, t.name_key, t.album, t.stored, t.excerpt_offset_s, t.excerpt_duration_s,
       t.excerpt_reader, t.object_key, t.source_format, t.duration_s
FROM library_track t
JOIN library_artist a USING (artist_id)
