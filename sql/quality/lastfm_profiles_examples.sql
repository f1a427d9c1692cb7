-- Examples for sql/quality/lastfm_profiles_invariants.sql (at most $limit each).
(SELECT 'bad_user_keys' AS check_name, coalesce(u.user_key, 'user_id ' || p.user_id || ' has no user') AS example
 FROM lastfm_profile p
 LEFT JOIN lastfm_user u USING (user_id)
 WHERE p.dump_id = $dump_id AND (u.user_key IS NULL OR NOT regexp_full_match(u.user_key, $user_key_regex))
 LIMIT $limit)
UNION ALL
(SELECT 'reject_share', reason || ': ' || count(*) || ' lines (first: line ' || min(line_no) || ')'
 FROM ingest_rejects WHERE dump_id = $dump_id AND file_kind = 'profiles'
 GROUP BY reason ORDER BY count(*) DESC, reason
 LIMIT $limit);
