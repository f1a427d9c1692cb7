-- Previews in the warehouse, by catalogue rank then provider rank: the stored ones, or every one tried
-- when $all_statuses; optionally only of the artist named $artist (case-insensitive; when no name is equal,
-- the artists whose name contains it).
WITH wanted AS (
    SELECT artist_id FROM acquire_artist
    WHERE $artist IS NULL
       OR lower(name) = lower($artist)
       OR (NOT EXISTS (SELECT 1 FROM acquire_artist WHERE lower(name) = lower($artist))
           AND contains(lower(name), lower($artist)))
)
SELECT a.name AS artist, p.title, p.genre, p.provider, p.status, p.duration_s, p.sample_rate, p.channels,
       p.format, p.bytes, p.excerpt_offset_s, p.excerpt_duration_s, p.object_key, p.sha256, p.track_id,
       p.artist_id, p.attempts, p.last_error, p.source_url, p.fetched_at
FROM preview p
JOIN acquire_artist a USING (artist_id)
WHERE p.artist_id IN (SELECT artist_id FROM wanted)
  AND ($all_statuses OR p.status = 'downloaded')
ORDER BY a.catalogue_rank NULLS LAST, a.name, p.provider_rank NULLS LAST, p.title
LIMIT $limit
