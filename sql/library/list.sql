-- Library tracks, optionally of the artist $artist (equal up to case, or the key its spellings share), with
-- the rule that named the artist of each file and how the artist met the Last.FM catalogue.
SELECT a.name AS artist, t.title, t.album, t.artist_rule, t.artist_spelling, a.lastfm_match, t.artist_id,
       t.track_id, t.source_format, round(t.duration_s, 2) AS duration_s, t.excerpt_offset_s,
       t.excerpt_duration_s, t.stored, t.source_path, t.object_key
FROM library_track t
JOIN library_artist a USING (name_key)
WHERE $artist IS NULL OR lower(a.name) = lower($artist) OR a.name_key = $artist_key
   OR list_contains(list_transform(a.spellings, lambda s: lower(s)), lower($artist))
ORDER BY a.name, t.album NULLS LAST, t.tracknumber NULLS LAST, t.title, t.track_id
