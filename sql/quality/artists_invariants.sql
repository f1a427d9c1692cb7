-- Whole-table facts of the artist catalogue and its spellings, over every row, as one row (artists).
WITH a AS (
    SELECT count(*) AS artists,
           count(*) - count(DISTINCT artist_id) AS duplicate_artist_ids,
           count(*) - count(DISTINCT artist_key) AS duplicate_artist_keys,
           count(*) FILTER (WHERE name IS NULL OR regexp_full_match(name, '\s*')) AS empty_names,
           count(*) FILTER (WHERE name_norm IS NULL OR name_norm = '') AS empty_name_norms,
           count(*) FILTER (WHERE artist_key IS NULL
                            OR NOT regexp_full_match(artist_key, '(mbid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|name:.+)'))
               AS malformed_keys,
           count(*) FILTER (WHERE mbid IS NOT NULL AND artist_key <> 'mbid:' || mbid::VARCHAR) AS mbid_key_mismatches
    FROM artist
),
v AS (
    SELECT count(*) AS variants,
           count(*) - count(DISTINCT (artist_id, raw_name, dump_id)) AS duplicate_variants,
           count(*) FILTER (WHERE lines IS NULL OR lines < 1) AS bad_variant_lines
    FROM artist_name_variant
),
orphans AS (
    SELECT count(*) AS orphan_variants FROM artist_name_variant v ANTI JOIN artist a USING (artist_id)
),
unspelt AS (
    SELECT count(*) AS artists_without_variant FROM artist a ANTI JOIN artist_name_variant v USING (artist_id)
)
SELECT * FROM a, v, orphans, unspelt;
