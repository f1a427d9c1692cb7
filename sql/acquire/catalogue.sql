-- The audio catalogue, read from a published snapshot: the $top_n artists with the most listeners in the
-- latest built dump (ties: lower id, as the similarity catalogue), leaving out placeholders and names no
-- provider can match ([unknown], various artists, empty or only an MBID).
SELECT l.artist_id, a.name, l.listeners, l.dump_id,
       row_number() OVER (ORDER BY l.listeners DESC, l.artist_id) AS catalogue_rank
FROM artist_listeners l
JOIN artist a USING (artist_id)
WHERE l.dump_id = (SELECT dump_id FROM latest_dump)
  AND NOT a.is_placeholder
  AND trim(coalesce(a.name, '')) <> ''
  AND a.name <> coalesce(CAST(a.mbid AS VARCHAR), '')             -- a name-less artist is shown by its MBID
  AND trim(a.name_norm) NOT IN ('[unknown]', 'unknown', '<unknown>', '[unknown artist]', 'unknown artist',
                                'various artists', 'various', '[various artists]', 'va', 'v.a.', 'v/a',
                                '[no artist]', 'no artist')
ORDER BY l.listeners DESC, l.artist_id
LIMIT $top_n
