-- Whole-table facts of the plays of dump $dump_id, over every row, as one row (musim.quality: lastfm_plays;
-- duplicate_rows comes from sql/quality/lastfm_plays_keys.sql). Bad-row counts must be 0; the counts must
-- agree with the dump's record. $user_key_regex depends on the
-- dump's format (40-hex sha1 in 360K, user_000001 in 1K).
WITH d AS (
    SELECT lines, loaded, rejected, plays_rows FROM lastfm_dump WHERE dump_id = $dump_id
),
p AS (
    SELECT count(*) AS rows_stored,
           coalesce(sum(lines), 0) AS sum_lines,
           count(*) FILTER (WHERE plays IS NULL OR plays < 0) AS bad_plays_rows,
           count(*) FILTER (WHERE lines IS NULL OR lines < 1) AS bad_lines_rows
    FROM lastfm_plays
    WHERE dump_id = $dump_id
),
-- Users and artists played must have a row with a good key. Ids are numbered from 1 (sql/ingest), so the
-- ids that would fail are the few gaps and bad rows of the small tables, and a played id fails when it is
-- one of those or beyond the largest id: no distinct over the 16M plays rows (0.25 s at full scale).
bad_user_ids AS (
    SELECT r.user_id
    FROM range(1, (SELECT coalesce(max(user_id), 0) + 1 FROM lastfm_user)) r(user_id)
    ANTI JOIN (SELECT user_id FROM lastfm_user WHERE regexp_full_match(user_key, $user_key_regex)) u USING (user_id)
),
users AS (
    SELECT count(DISTINCT user_id) AS bad_user_keys
    FROM lastfm_plays
    WHERE dump_id = $dump_id
      AND (user_id NOT BETWEEN 1 AND (SELECT coalesce(max(user_id), 0) FROM lastfm_user)
           OR user_id IN (SELECT user_id FROM bad_user_ids))
),
user_table AS (
    -- lastfm_user has no key constraint (sql/migrations/009_bulk_load_tables.sql): ids and keys are checked here
    SELECT count(*) - count(DISTINCT user_id) AS duplicate_user_ids,
           count(*) - count(DISTINCT user_key) AS duplicate_user_keys
    FROM lastfm_user
),
bad_artist_ids AS (
    SELECT r.artist_id
    FROM range(1, (SELECT coalesce(max(artist_id), 0) + 1 FROM artist)) r(artist_id)
    ANTI JOIN (SELECT artist_id FROM artist WHERE coalesce(artist_key, '') <> '') a USING (artist_id)
),
artists AS (
    SELECT count(DISTINCT artist_id) AS missing_artist_keys
    FROM lastfm_plays
    WHERE dump_id = $dump_id
      AND (artist_id NOT BETWEEN 1 AND (SELECT coalesce(max(artist_id), 0) FROM artist)
           OR artist_id IN (SELECT artist_id FROM bad_artist_ids))
),
r AS (
    SELECT count(*) AS rejects_stored
    FROM ingest_rejects
    WHERE dump_id = $dump_id AND file_kind IN ('plays', 'events')
)
SELECT d.lines, d.loaded, d.rejected, d.loaded + d.rejected AS loaded_plus_rejected,
       p.sum_lines, r.rejects_stored, d.plays_rows, p.rows_stored,
       CASE WHEN d.lines > 0 THEN d.rejected / d.lines ELSE 0.0 END AS reject_share,
       p.bad_plays_rows, p.bad_lines_rows, users.bad_user_keys,
       user_table.duplicate_user_ids, user_table.duplicate_user_keys, artists.missing_artist_keys
FROM d, p, r, users, user_table, artists;
