-- Examples of what broke each invariant of sql/quality/lastfm_plays_invariants.sql (at most $limit each).
(SELECT 'bad_user_keys' AS check_name, coalesce(u.user_key, 'user_id ' || x.user_id || ' has no user') AS example
 FROM (SELECT DISTINCT user_id FROM lastfm_plays WHERE dump_id = $dump_id) x
 LEFT JOIN lastfm_user u USING (user_id)
 WHERE u.user_key IS NULL OR NOT regexp_full_match(u.user_key, $user_key_regex)
 LIMIT $limit)
UNION ALL
(SELECT 'duplicate_user_ids', 'user_id ' || user_id || ': ' || count(*) || ' users'
 FROM lastfm_user GROUP BY user_id HAVING count(*) > 1
 LIMIT $limit)
UNION ALL
(SELECT 'duplicate_user_keys', user_key || ': ' || count(*) || ' users'
 FROM lastfm_user GROUP BY user_key HAVING count(*) > 1
 LIMIT $limit)
UNION ALL
(SELECT 'missing_artist_keys', 'artist_id ' || x.artist_id || coalesce(' (' || a.name || ')', ' has no artist')
 FROM (SELECT DISTINCT artist_id FROM lastfm_plays WHERE dump_id = $dump_id) x
 LEFT JOIN artist a USING (artist_id)
 WHERE a.artist_id IS NULL OR coalesce(a.artist_key, '') = ''
 LIMIT $limit)
UNION ALL
(SELECT 'bad_plays_rows', coalesce(u.user_key, 'user_id ' || p.user_id) || ' / ' || coalesce(a.name, 'artist_id ' || p.artist_id)
        || ': plays ' || coalesce(p.plays::VARCHAR, 'NULL')
 FROM lastfm_plays p LEFT JOIN lastfm_user u USING (user_id) LEFT JOIN artist a USING (artist_id)
 WHERE p.dump_id = $dump_id AND (p.plays IS NULL OR p.plays < 0)
 LIMIT $limit)
UNION ALL
(SELECT 'bad_lines_rows', coalesce(u.user_key, 'user_id ' || p.user_id) || ' / ' || coalesce(a.name, 'artist_id ' || p.artist_id)
        || ': lines ' || coalesce(p.lines::VARCHAR, 'NULL')
 FROM lastfm_plays p LEFT JOIN lastfm_user u USING (user_id) LEFT JOIN artist a USING (artist_id)
 WHERE p.dump_id = $dump_id AND (p.lines IS NULL OR p.lines < 1)
 LIMIT $limit)
UNION ALL
(SELECT 'duplicate_rows', 'user_id ' || user_id || ' artist_id ' || artist_id || ': ' || count(*) || ' rows'
 FROM lastfm_plays WHERE dump_id = $dump_id
 GROUP BY user_id, artist_id HAVING count(*) > 1
 LIMIT $limit)
UNION ALL
(SELECT 'reject_share', reason || ': ' || count(*) || ' lines (first: line ' || min(line_no) || ')'
 FROM ingest_rejects WHERE dump_id = $dump_id AND file_kind IN ('plays', 'events')
 GROUP BY reason ORDER BY count(*) DESC, reason
 LIMIT $limit);
