-- Library tracks, optionally of the artist $artist (any of its spellings up to case, a name key its spellings
-- have, its MusicBrainz id, or its id $artist_id when $artist is a number: every artist it names is listed, so a
-- name that is also another artist's id lists both) or of the id $artist_id alone ($artist NULL: `--artist id:N`),
-- with the rule that named the artist of each file and how the artist met the Last.FM catalogue; excerpt_stale: its
-- stored excerpt was cut by a reader older than $reader (musim.library.known.FIRST_STREAM_ONLY: version 2's excerpts
-- differ from today's only for a chained file, which the next `musim library add` of it finds), read again by the
-- next `musim library add` of its file; excerpt_to_check: cut by version $reader of a file that can be chained (mp3,
-- Ogg, Opus: musim.library.known.CHAINABLE) no add has checked since: the next `musim library add` of its folder reads
-- its page or frame headers and re-cuts it if the file is chained; marked_gone: a scan found its file gone, or changed
-- and skipped.
SELECT a.name AS artist, CAST(a.mbid AS VARCHAR) AS mbid, t.title, t.album, t.artist_rule, t.artist_spelling,
       a.lastfm_match, t.artist_id, t.track_id, t.source_format, round(t.duration_s, 2) AS duration_s,
       t.excerpt_offset_s, t.excerpt_duration_s, t.stored, t.source_path, t.object_key,
       t.stored = 'excerpt' AND t.excerpt_reader < $reader AS excerpt_stale,
       t.stored = 'excerpt' AND t.excerpt_reader = $reader AND list_contains($chainable, t.source_format)
           AS excerpt_to_check,
       t.gone_at IS NOT NULL AS marked_gone, t.source_sha256  -- (what tells a file whose content changed: not listed)
FROM library_track t
JOIN library_artist a USING (artist_id)
WHERE ($artist IS NULL AND $artist_id IS NULL) OR lower(a.name) = lower($artist) OR list_contains(a.name_keys, $artist_key)
   OR list_contains(list_transform(a.spellings, lambda s: lower(s)), lower($artist))
   OR CAST(a.mbid AS VARCHAR) = lower(trim($artist)) OR t.artist_id = $artist_id
ORDER BY a.name, a.mbid NULLS LAST, t.album NULLS LAST, t.tracknumber NULLS LAST, t.title, t.track_id
