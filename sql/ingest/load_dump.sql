-- Load a staged plays/events file (ingest_scratch.stage_checked) into the warehouse tables for dump $dump_id.
-- Runs inside the ingest transaction: all of it lands, or none of it.
-- Staged rows that passed the line checks (reason IS NULL) carry their user id and artist spelling as in the
-- file, with 64-bit hashes of both: users and spellings are checked, trimmed and resolved once per distinct
-- value here, and the sixteen million rows meet them through joins on the hashes. A hash shared by two
-- different strings would stop the ingest (checked below), never mix two users or artists.
-- Its TEMP tables and view go with the writer's connection, which the ingest closes when it is done.

-- 1. Distinct user ids and artist spellings, each checked once ($format: 360k or 1k).
CREATE OR REPLACE TEMP TABLE stage_user AS
SELECT user_hash, user_raw,
       CASE WHEN regexp_full_match(user_raw, '[0-9a-f]{40}') THEN user_raw ELSE trim(user_raw) END AS user_key,
       ingest_scratch.user_reason(user_raw, $format) AS reason,
       lines
FROM (
    SELECT user_key AS user_raw, any_value(user_hash) AS user_hash, count(*) AS lines
    FROM ingest_scratch.stage_checked
    WHERE reason IS NULL
    GROUP BY user_key
);

CREATE OR REPLACE TEMP TABLE stage_spelling_hash AS
SELECT spelling_hash, name_raw, mbid_text, ingest_scratch.spelling_reason(name_raw, mbid_text) AS reason, lines
FROM (
    SELECT raw_name AS name_raw, mbid_text, any_value(spelling_hash) AS spelling_hash, count(*) AS lines
    FROM ingest_scratch.stage_checked
    WHERE reason IS NULL
    GROUP BY raw_name, mbid_text
);

SELECT CASE WHEN (SELECT count(DISTINCT user_hash) < count(*) FROM stage_user)
              OR (SELECT count(DISTINCT spelling_hash) < count(*) FROM stage_spelling_hash)
            THEN error('64-bit hash collision between two user ids or artist spellings: ingest stopped, nothing stored. Please report this dump.')
       END;

-- 2. Lines rejected for their user id (first) or their artist spelling: few, rebuilt from their fields
--    where the stage kept no raw text (it keeps it wherever the fields cannot rebuild the line).
CREATE OR REPLACE TEMP TABLE stage_late AS
WITH bad_user AS (SELECT user_hash, reason FROM stage_user WHERE reason IS NOT NULL),
     bad_spelling AS (SELECT spelling_hash, reason FROM stage_spelling_hash WHERE reason IS NOT NULL)
SELECT c.rowid AS row_id, c.user_hash, c.spelling_hash, b.reason,
       coalesce(c.raw, concat_ws(chr(9), c.user_key, c.mbid_text, c.raw_name, c.plays::VARCHAR)) AS raw
FROM ingest_scratch.stage_checked c JOIN bad_user b USING (user_hash)
WHERE c.reason IS NULL
UNION ALL
SELECT c.rowid, c.user_hash, c.spelling_hash, b.reason,
       coalesce(c.raw, concat_ws(chr(9), c.user_key, c.mbid_text, c.raw_name, c.plays::VARCHAR))
FROM ingest_scratch.stage_checked c JOIN bad_spelling b USING (spelling_hash)
WHERE c.reason IS NULL AND c.user_hash NOT IN (SELECT user_hash FROM bad_user);

-- Good users and spellings, with the lines they keep (a user or spelling only seen on rejected lines is
-- not registered).
CREATE OR REPLACE TEMP TABLE stage_user_live AS
SELECT u.user_hash, u.user_key
FROM stage_user u LEFT JOIN (SELECT user_hash, count(*) AS n FROM stage_late GROUP BY ALL) l USING (user_hash)
WHERE u.reason IS NULL AND u.lines > coalesce(l.n, 0);

CREATE OR REPLACE TEMP TABLE stage_spelling_live AS
SELECT s.spelling_hash, trim(s.name_raw) AS raw_name, s.mbid_text, s.lines - coalesce(l.n, 0) AS lines
FROM stage_spelling_hash s
LEFT JOIN (SELECT spelling_hash, count(*) AS n FROM stage_late GROUP BY ALL) l USING (spelling_hash)
WHERE s.reason IS NULL AND s.lines > coalesce(l.n, 0);

-- 3. Spellings (trimmed name and MBID text as in the file) and the artist each one resolves to.
--    Identity: the MBID where valid; else, if this normalised name carries exactly one MBID elsewhere in
--    the dump, that artist; else the normalised name.
CREATE OR REPLACE TEMP TABLE stage_spelling AS
WITH spellings AS (
    SELECT raw_name, mbid_text, try_cast(trim(mbid_text) AS UUID) AS mbid, sum(lines) AS lines
    FROM stage_spelling_live
    GROUP BY raw_name, mbid_text
),
normalised AS (
    SELECT *, lower(nfc_normalize(regexp_replace(raw_name, '\s+', ' ', 'g'))) AS name_norm
    FROM spellings
),
name_single_mbid AS (
    SELECT name_norm, any_value(mbid) AS mbid
    FROM normalised
    WHERE mbid IS NOT NULL AND name_norm <> ''
    GROUP BY name_norm
    HAVING count(DISTINCT mbid) = 1
)
SELECT n.raw_name, n.mbid_text, n.mbid, n.lines, n.name_norm,
       CASE
           WHEN n.mbid IS NOT NULL THEN 'mbid:' || n.mbid::VARCHAR
           WHEN s.mbid IS NOT NULL THEN 'mbid:' || s.mbid::VARCHAR
           ELSE 'name:' || n.name_norm
       END AS artist_key,
       coalesce(n.mbid, s.mbid) AS artist_mbid
FROM normalised n
LEFT JOIN name_single_mbid s ON n.mbid IS NULL AND s.name_norm = n.name_norm;

-- 4. New artists get the next ids (deterministic order); display name = most used spelling.
INSERT INTO artist (artist_id, artist_key, mbid, name, name_norm, is_placeholder, first_dump_id)
WITH per_key AS (
    SELECT artist_key,
           any_value(artist_mbid) AS mbid,
           -- most lines, then the spelling given with a valid MBID, then one with capitals, then by text
           arg_max(raw_name, {'l': lines, 'm': mbid IS NOT NULL, 'u': raw_name <> lower(raw_name), 'n': raw_name})
               FILTER (WHERE raw_name <> '') AS name,
           arg_max(name_norm, lines) FILTER (WHERE name_norm <> '') AS name_norm
    FROM stage_spelling
    GROUP BY artist_key
),
fresh AS (
    SELECT p.* FROM per_key p ANTI JOIN artist a ON a.artist_key = p.artist_key
)
SELECT (SELECT coalesce(max(artist_id), 0) FROM artist) + row_number() OVER (ORDER BY artist_key),
       artist_key, mbid,
       coalesce(name, mbid::VARCHAR),
       coalesce(name_norm, lower(mbid::VARCHAR)),
       coalesce(name_norm, '') IN ('[unknown]', 'unknown', 'various artists', 'various', 'va', '[various artists]', '<unknown>'),
       $dump_id
FROM fresh;

INSERT INTO artist_name_variant (artist_id, raw_name, dump_id, lines)
SELECT a.artist_id, s.raw_name, $dump_id, sum(s.lines)
FROM stage_spelling s JOIN artist a USING (artist_key)
GROUP BY ALL;

-- 5. New users get the next ids.
INSERT INTO lastfm_user (user_id, user_key)
WITH fresh AS (
    SELECT DISTINCT k.user_key FROM stage_user_live k ANTI JOIN lastfm_user u ON u.user_key = k.user_key
)
SELECT (SELECT coalesce(max(user_id), 0) FROM lastfm_user) + row_number() OVER (ORDER BY user_key), user_key
FROM fresh;

-- 6. Plays: duplicate user-artist lines merged (plays summed, lines counted), grouped on one 64-bit key.
--    Nearly every staged row finds its user and spelling, so the joins' pushed-down filters (min/max and
--    Bloom filters on uniformly spread hashes) would only cost time: they are off for this statement.
CREATE OR REPLACE TEMP TABLE stage_user_map AS
SELECT l.user_hash, u.user_id FROM stage_user_live l JOIN lastfm_user u USING (user_key);

CREATE OR REPLACE TEMP TABLE stage_spelling_map AS
SELECT l.spelling_hash, a.artist_id
FROM stage_spelling_live l JOIN stage_spelling s USING (raw_name, mbid_text) JOIN artist a USING (artist_key);

-- The plays are summed in 64 bits (half the cost of DuckDB's 128-bit sum) whenever no sum can overflow:
-- max(plays) x every good line < 2^63, true of any real dump; otherwise the exact 128-bit sum runs.
CREATE OR REPLACE TEMP TABLE stage_sum_fits AS
SELECT coalesce(max(plays), 0)::HUGEINT * count(*) < 9223372036854775807 AS fits
FROM ingest_scratch.stage_checked
WHERE reason IS NULL;

CREATE OR REPLACE TEMP VIEW stage_play_rows AS
SELECT (u.user_id::BIGINT << 32) | s.artist_id AS k, c.plays
FROM ingest_scratch.stage_checked c
JOIN stage_user_map u USING (user_hash)
JOIN stage_spelling_map s USING (spelling_hash)
WHERE c.reason IS NULL;

SET disabled_optimizers = 'join_filter_pushdown';

INSERT INTO lastfm_plays (dump_id, user_id, artist_id, plays, lines)
SELECT $dump_id, (k >> 32)::INTEGER, (k & 4294967295)::INTEGER, plays, lines
FROM (
    SELECT k, sum_no_overflow(plays) AS plays, count(*) AS lines
    FROM stage_play_rows WHERE (SELECT fits FROM stage_sum_fits) GROUP BY k
    UNION ALL
    SELECT k, sum(plays), count(*)
    FROM stage_play_rows WHERE NOT (SELECT fits FROM stage_sum_fits) GROUP BY k
);

RESET disabled_optimizers;

-- 7. Rejected lines, numbered: a staged row's line is its rowid + the shift of its run of rows
--    (ingest_scratch.stage_checked_lines; the pre-scan's own rejects are inserted alongside).
INSERT INTO ingest_rejects (dump_id, file_kind, line_no, raw, reason)
SELECT $dump_id, $file_kind, r.row_id + m.shift, r.raw, r.reason
FROM (
    SELECT rowid AS row_id, raw, reason FROM ingest_scratch.stage_checked WHERE reason IS NOT NULL
    UNION ALL
    SELECT row_id, raw, reason FROM stage_late
) r
ASOF JOIN ingest_scratch.stage_checked_lines m ON r.row_id >= m.first_rowid;
