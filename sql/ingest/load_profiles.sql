-- Load stage_profiles for dump $dump_id of format $fmt (inside the ingest transaction). A user id is checked as
-- the plays' are (ingest_scratch.user_reason: a malformed one was stored, then failed the lastfm_profiles suite and
-- quarantined the whole dump). A user's first valid line is kept; later ones are rejected as duplicates (rowid
-- is the read order).
CREATE OR REPLACE TEMP TABLE stage_profile_rows AS
SELECT row_id, * EXCLUDE (row_id, reason),
       CASE WHEN reason IS NULL AND row_number() OVER (PARTITION BY reason IS NULL, user_key ORDER BY row_id) > 1
            THEN 'duplicate user (first profile line kept)' ELSE reason END AS final_reason
FROM (SELECT rowid AS row_id, * REPLACE (coalesce(reason, ingest_scratch.user_reason(user_key, $fmt)) AS reason)
      FROM ingest_scratch.stage_profiles);

INSERT INTO lastfm_user (user_id, user_key)
WITH fresh AS (
    SELECT DISTINCT p.user_key FROM stage_profile_rows p
    WHERE p.final_reason IS NULL AND NOT EXISTS (SELECT 1 FROM lastfm_user u WHERE u.user_key = p.user_key)
)
SELECT (SELECT coalesce(max(user_id), 0) FROM lastfm_user) + row_number() OVER (ORDER BY user_key), user_key
FROM fresh;

INSERT INTO lastfm_profile (dump_id, user_id, gender, age, country, signup)
SELECT $dump_id, u.user_id, p.gender, p.age, p.country, p.signup
FROM stage_profile_rows p JOIN lastfm_user u USING (user_key)
WHERE p.final_reason IS NULL;

INSERT INTO ingest_rejects (dump_id, file_kind, line_no, raw, reason)
SELECT $dump_id, 'profiles', p.row_id + m.shift, p.raw, p.final_reason
FROM stage_profile_rows p ASOF JOIN ingest_scratch.stage_profiles_lines m ON p.row_id >= m.first_rowid
WHERE p.final_reason IS NOT NULL;

DROP TABLE stage_profile_rows;
