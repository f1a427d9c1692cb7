-- Whole-table facts of the profiles of dump $dump_id, over every row, as one row (lastfm_profiles).
WITH d AS (
    SELECT profile_lines, profile_loaded, profile_rejected FROM lastfm_dump WHERE dump_id = $dump_id
),
p AS (
    SELECT count(*) AS rows_stored,
           count(*) FILTER (WHERE u.user_key IS NULL OR NOT regexp_full_match(u.user_key, $user_key_regex))
               AS bad_user_keys
    FROM lastfm_profile p
    LEFT JOIN lastfm_user u USING (user_id)
    WHERE p.dump_id = $dump_id
),
r AS (
    SELECT count(*) AS rejects_stored FROM ingest_rejects WHERE dump_id = $dump_id AND file_kind = 'profiles'
)
SELECT d.profile_lines, d.profile_loaded, d.profile_rejected,
       d.profile_loaded + d.profile_rejected AS loaded_plus_rejected,
       p.rows_stored, r.rejects_stored,
       CASE WHEN d.profile_lines > 0 THEN d.profile_rejected / d.profile_lines ELSE 0.0 END AS reject_share,
       p.bad_user_keys
FROM d, p, r;
