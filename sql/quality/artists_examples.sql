-- Examples for sql/quality/artists_invariants.sql (at most $limit each).
(SELECT 'duplicate_artist_ids' AS check_name, 'artist_id ' || artist_id || ': ' || count(*) || ' rows' AS example
 FROM artist GROUP BY artist_id HAVING count(*) > 1 LIMIT $limit)
UNION ALL
(SELECT 'duplicate_artist_keys', artist_key || ': ' || count(*) || ' artists'
 FROM artist GROUP BY artist_key HAVING count(*) > 1 LIMIT $limit)
UNION ALL
(SELECT 'empty_names', 'artist_id ' || artist_id || ' (' || artist_key || ') name ' || coalesce('''' || name || '''', 'NULL')
 FROM artist WHERE name IS NULL OR regexp_full_match(name, '\s*') LIMIT $limit)
UNION ALL
(SELECT 'empty_name_norms', 'artist_id ' || artist_id || ' (' || artist_key || ')'
 FROM artist WHERE name_norm IS NULL OR name_norm = '' LIMIT $limit)
UNION ALL
(SELECT 'malformed_keys', 'artist_id ' || artist_id || ' key ' || coalesce('''' || artist_key || '''', 'NULL')
 FROM artist
 WHERE artist_key IS NULL
    OR NOT regexp_full_match(artist_key, '(mbid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|name:.+)')
 LIMIT $limit)
UNION ALL
(SELECT 'mbid_key_mismatches', 'artist_id ' || artist_id || ' key ' || artist_key || ' mbid ' || mbid::VARCHAR
 FROM artist WHERE mbid IS NOT NULL AND artist_key <> 'mbid:' || mbid::VARCHAR LIMIT $limit)
UNION ALL
(SELECT 'duplicate_variants', 'artist_id ' || artist_id || ' spelling ''' || raw_name || ''': ' || count(*) || ' rows'
 FROM artist_name_variant GROUP BY artist_id, raw_name, dump_id HAVING count(*) > 1 LIMIT $limit)
UNION ALL
(SELECT 'bad_variant_lines', 'artist_id ' || artist_id || ' spelling ''' || raw_name || ''' lines ' || coalesce(lines::VARCHAR, 'NULL')
 FROM artist_name_variant WHERE lines IS NULL OR lines < 1 LIMIT $limit)
UNION ALL
(SELECT 'orphan_variants', 'artist_id ' || v.artist_id || ' spelling ''' || v.raw_name || ''''
 FROM artist_name_variant v ANTI JOIN artist a USING (artist_id) LIMIT $limit)
UNION ALL
(SELECT 'artists_without_variant', 'artist_id ' || a.artist_id || ' (' || a.name || ')'
 FROM artist a ANTI JOIN artist_name_variant v USING (artist_id) LIMIT $limit);
