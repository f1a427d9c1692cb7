-- Load stage_profiles for dump $dump_id (inside the ingest transaction).
INSERT INTO lastfm_user (user_id, user_key)
WITH fresh AS (
    SELECT DISTINCT p.user_key FROM ingest_scratch.stage_profiles p
    WHERE p.reason IS NULL AND NOT EXISTS (SELECT 1 FROM lastfm_user u WHERE u.user_key = p.user_key)
)
SELECT (SELECT coalesce(max(user_id), 0) FROM lastfm_user) + row_number() OVER (ORDER BY user_key), user_key
FROM fresh;

INSERT INTO lastfm_profile (dump_id, user_id, gender, age, country, signup)
SELECT $dump_id, u.user_id, p.gender, p.age, p.country, p.signup
FROM ingest_scratch.stage_profiles p JOIN lastfm_user u USING (user_key)
WHERE p.reason IS NULL;

INSERT INTO ingest_rejects (dump_id, file_kind, line_no, raw, reason)
SELECT $dump_id, 'profiles', line_no, raw, reason FROM ingest_scratch.stage_profiles WHERE reason IS NOT NULL;
