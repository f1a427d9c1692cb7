-- Examples for sql/quality/previews_invariants.sql (at most $limit each).
(SELECT 'duplicate_track_ids' AS check_name, track_id || ': ' || count(*) || ' rows' AS example
 FROM track GROUP BY track_id HAVING count(*) > 1 LIMIT $limit)
UNION ALL
(SELECT 'incomplete_downloads', track_id || ' (' || provider || ' ' || provider_track_id || '): object_key '
        || coalesce(object_key, 'NULL') || ', bytes ' || coalesce(bytes::VARCHAR, 'NULL') || ', duration '
        || coalesce(duration_s::VARCHAR, 'NULL')
 FROM preview
 WHERE status = 'downloaded'
   AND (object_key IS NULL OR sha256 IS NULL OR coalesce(bytes, 0) <= 0 OR coalesce(duration_s, 0) <= 0
        OR sample_rate IS NULL OR format IS NULL)
 LIMIT $limit)
UNION ALL
(SELECT 'tracks_without_download', t.track_id || ' (' || t.title || ')'
 FROM track t WHERE NOT EXISTS (SELECT 1 FROM preview p WHERE p.track_id = t.track_id AND p.status = 'downloaded')
 LIMIT $limit)
UNION ALL
(SELECT 'downloads_without_track', p.track_id || ' (' || p.title || ')'
 FROM preview p WHERE p.status = 'downloaded' AND NOT EXISTS (SELECT 1 FROM track t WHERE t.track_id = p.track_id)
 LIMIT $limit)
UNION ALL
(SELECT 'track_preview_mismatches', t.track_id || ': track ' || t.object_key || ', preview ' || coalesce(p.object_key, 'NULL')
 FROM track t JOIN preview p USING (track_id)
 WHERE t.sha256 IS DISTINCT FROM p.sha256 OR t.object_key IS DISTINCT FROM p.object_key
 LIMIT $limit)
UNION ALL
(SELECT 'tracks_of_unknown_artists', t.track_id || ': artist_id ' || t.artist_id
 FROM track t WHERE NOT EXISTS (SELECT 1 FROM artist a WHERE a.artist_id = t.artist_id) LIMIT $limit)
UNION ALL
(SELECT 'bad_object_keys', track_id || ': ' || object_key || ' (sha256 ' || sha256 || ', format ' || format || ')'
 FROM track
 WHERE NOT regexp_full_match(sha256, '[0-9a-f]{64}') OR object_key <> 'audio/previews/' || sha256 || '.' || format
 LIMIT $limit)
UNION ALL
(SELECT 'implausible_audio', track_id || ': ' || duration_s || ' s at ' || sample_rate || ' Hz'
 FROM track WHERE NOT (isfinite(duration_s) AND duration_s > 0 AND sample_rate BETWEEN $min_rate AND $max_rate) LIMIT $limit)
UNION ALL
(SELECT 'excerpt_outside_audio', track_id || ': window ' || excerpt_offset_s || ' + ' || excerpt_duration_s
        || ' s of ' || duration_s || ' s'
 FROM track
 WHERE NOT (excerpt_offset_s >= 0 AND excerpt_duration_s > 0 AND excerpt_offset_s + excerpt_duration_s <= duration_s + 0.05)
 LIMIT $limit);
