-- Every name the catalogue knows an artist by (display names and the spellings of every dump), with the
-- artist's MBID, to match library artists against; placeholders are never matched.
SELECT a.artist_id, CAST(a.mbid AS VARCHAR) AS mbid, a.name, a.name_norm, 'name' AS source
FROM artist a
WHERE NOT a.is_placeholder
UNION ALL
SELECT v.artist_id, CAST(a.mbid AS VARCHAR), v.raw_name, lower(v.raw_name), 'variant'
FROM artist_name_variant v
JOIN artist a USING (artist_id)
WHERE NOT a.is_placeholder AND v.dump_id <> 'library'
ORDER BY source, artist_id
