-- Previews in the warehouse (acquired, and the music library's), by catalogue rank then provider rank: the stored ones, or every one tried
-- when $all_statuses, and then also one row per artist that has no preview row at all (failed, no match,
-- no preview: title NULL, the artist's status and last error); optionally only of the artist named $artist
-- (musim.names.name_norm of the name typed, compared with each name normalised alike by the name_norm macro,
-- sql/warehouse/macros.sql: NFC, whitespace collapsed, lower case; when no name is equal, the artists whose name
-- contains it).
WITH named AS (  -- the acquisition's artists, and the music library's (their previews have provider 'library')
    SELECT artist_id, name, catalogue_rank FROM acquire_artist
    UNION ALL
    SELECT c.artist_id, c.name, NULL FROM artist c
    WHERE NOT EXISTS (SELECT 1 FROM acquire_artist q WHERE q.artist_id = c.artist_id)
      AND EXISTS (SELECT 1 FROM preview p WHERE p.artist_id = c.artist_id)
), normed AS (
    SELECT artist_id, name_norm(name) AS name_norm
    FROM named
), wanted AS (
    SELECT artist_id FROM normed
    WHERE $artist IS NULL
       OR name_norm = $artist
       OR (NOT EXISTS (SELECT 1 FROM normed WHERE name_norm = $artist)
           AND contains(name_norm, $artist))
)
SELECT artist, title, genre, provider, status, duration_s, sample_rate, channels, format, bytes, excerpt_offset_s,
       excerpt_duration_s, object_key, sha256, track_id, artist_id, attempts, last_error, source_url, fetched_at
FROM (
    SELECT a.name AS artist, p.title, p.genre, p.provider, p.status, p.duration_s, p.sample_rate, p.channels,
           p.format, p.bytes, p.excerpt_offset_s, p.excerpt_duration_s, p.object_key, p.sha256, p.track_id,
           p.artist_id, p.attempts, p.last_error, p.source_url, p.fetched_at,
           a.catalogue_rank, p.provider_rank
    FROM preview p
    JOIN named a USING (artist_id)
    WHERE p.artist_id IN (SELECT artist_id FROM wanted)
      AND ($all_statuses OR p.status = 'downloaded')
    UNION ALL
    SELECT a.name, NULL, NULL, coalesce(a.provider, array_to_string(a.providers_tried, ',')), a.status, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, a.artist_id, a.attempts, a.last_error, NULL,
           a.updated_at, a.catalogue_rank, NULL
    FROM acquire_artist a
    WHERE $all_statuses
      AND a.artist_id IN (SELECT artist_id FROM wanted)
      AND a.status <> 'pending'
      AND NOT EXISTS (SELECT 1 FROM preview p WHERE p.artist_id = a.artist_id)
)
ORDER BY catalogue_rank NULLS LAST, artist, provider_rank NULLS LAST, title NULLS FIRST
LIMIT $limit
