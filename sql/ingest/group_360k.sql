-- The distinct users and spellings, rows and line rejects of a 360K plays file scanned in C
-- (musim.ingest.plays_360k registers scan_users, scan_spellings, scan_rows, scan_events, scan_kept_raw),
-- as sql/ingest/load_dump.sql takes them. Users and spellings are exact distinct values, so their refs
-- (indices) cannot collide; a row's row_id is its line number.

-- Distinct user ids and artist spellings of the good lines, each checked once.
CREATE OR REPLACE TEMP TABLE stage_user AS
SELECT user_ref, user_raw,
       CASE WHEN regexp_full_match(user_raw, '[0-9a-f]{40}') THEN user_raw ELSE trim(user_raw) END AS user_key,
       ingest_scratch.user_reason(user_raw, '360k') AS reason,
       first_line, lines
FROM scan_users;

CREATE OR REPLACE TEMP TABLE stage_spelling_ref AS
SELECT spelling_ref, name_raw, mbid_text, ingest_scratch.spelling_reason(name_raw, mbid_text) AS reason, lines
FROM scan_spellings;

CREATE OR REPLACE TEMP VIEW stage_rows AS
SELECT row_id, user_ref, spelling_ref, plays FROM scan_rows;

CREATE OR REPLACE TEMP VIEW stage_kept_raw AS
SELECT row_id, raw FROM scan_kept_raw;

CREATE OR REPLACE TEMP VIEW stage_row_lines AS
SELECT 0::BIGINT AS first_rowid, 0::BIGINT AS shift;

-- Lines rejected for their fields or plays. The checks run in the same order for every line: fields,
-- user, artist, plays (a line with bad plays gets its user's or artist's reason first, if it has one).
CREATE OR REPLACE TEMP TABLE stage_line_rejects AS
SELECT row_id, raw,
       CASE event
           WHEN 'too few fields' THEN 'too few fields: expected 4 tab-separated fields (user, mbid, artist, plays)'
           WHEN 'too many fields' THEN 'too many fields: expected 4 tab-separated fields (user, mbid, artist, plays)'
           ELSE coalesce(ingest_scratch.user_reason(f[1], '360k'), ingest_scratch.spelling_reason(f[3], f[2]), event)
       END AS reason
FROM (SELECT *, string_split(raw, chr(9)) AS f FROM scan_events);
