-- Load a scanned or staged plays/events file into the warehouse tables for dump $dump_id.
-- Runs inside the ingest transaction: all of it lands, or none of it.
-- It starts from what sql/ingest/group_360k.sql (C engine) or group_staged.sql (DuckDB) prepared:
--   stage_user (user_ref, user_raw, user_key, reason, lines) and stage_spelling_ref (spelling_ref, name_raw,
--   mbid_text, reason, lines): the distinct user ids and artist spellings of the lines that passed the line
--   checks, each checked once here rather than once per line;
--   stage_rows (row_id, user_ref, spelling_ref, plays): those lines; stage_kept_raw (row_id, raw): the raw
--   text of the few whose fields cannot rebuild it; stage_line_rejects (row_id, raw, reason): the lines
--   that failed the line checks; stage_row_lines: row ids to line numbers (a row's line is its row_id + the
--   shift of the last entry at or below it).
-- Its TEMP tables and views go with the writer's connection, which the ingest closes when it is done.

-- 1. Lines rejected for their user id (first) or their artist spelling: few, rebuilt from their fields
--    where no raw text was kept (it is kept wherever the fields cannot rebuild the line).
CREATE OR REPLACE TEMP TABLE stage_late AS
WITH bad_user AS (SELECT user_ref, reason FROM stage_user WHERE reason IS NOT NULL),
     bad_spelling AS (SELECT spelling_ref, reason FROM stage_spelling_ref WHERE reason IS NOT NULL),
     late AS (
        SELECT r.row_id, r.user_ref, r.spelling_ref, r.plays, b.reason
        FROM stage_rows r JOIN bad_user b USING (user_ref)
        UNION ALL
        SELECT r.row_id, r.user_ref, r.spelling_ref, r.plays, b.reason
        FROM stage_rows r JOIN bad_spelling b USING (spelling_ref)
        WHERE r.user_ref NOT IN (SELECT user_ref FROM bad_user)
     )
SELECT l.row_id, l.user_ref, l.spelling_ref, l.reason,
       coalesce(k.raw, concat_ws(chr(9), u.user_raw, s.mbid_text, s.name_raw, l.plays::VARCHAR)) AS raw
FROM late l
JOIN stage_user u USING (user_ref)
JOIN stage_spelling_ref s USING (spelling_ref)
LEFT JOIN stage_kept_raw k USING (row_id);

-- Good spellings, with the lines they keep (a spelling only seen on rejected lines is not registered).
CREATE OR REPLACE TEMP TABLE stage_spelling_live AS
SELECT s.spelling_ref, trim(s.name_raw) AS raw_name, s.mbid_text, s.lines - coalesce(l.n, 0) AS lines
FROM stage_spelling_ref s
LEFT JOIN (SELECT spelling_ref, count(*) AS n FROM stage_late GROUP BY ALL) l USING (spelling_ref)
WHERE s.reason IS NULL AND s.lines > coalesce(l.n, 0);

-- 2. Spellings (trimmed name and MBID text as in the file) and the artist each one resolves to.
--    Identity: the MBID where valid; else, if this normalised name carries exactly one MBID elsewhere in
--    the dump, that artist; else the normalised name.
CREATE OR REPLACE TEMP TABLE stage_spelling AS
WITH spellings AS (
    SELECT raw_name, mbid_text, try_cast(trim(mbid_text) AS UUID) AS mbid, sum(lines) AS lines
    FROM stage_spelling_live
    GROUP BY raw_name, mbid_text
),
normalised AS (
    -- NFC, lower case, every run of whitespace (each character Python's str.isspace() takes) one space, trimmed:
    -- the name_norm macro (sql/warehouse/macros.sql), musim.names.name_norm's rule
    SELECT *, name_norm(raw_name) AS name_norm
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

-- 2b. Lines of a user and artist whose plays sum past 2^63-1 (lastfm_plays.plays is a BIGINT): every line of
--     that user and artist is rejected, with its own reason, and the rest of the dump loads. The artist is
--     the one resolved above, from every spelling that passed its checks. Each line's plays is at most
--     10^18, so no sum can overflow unless max(plays) x lines >= 2^63, which no real dump comes near: then
--     (stage_sum_fits, also read by sql/ingest/insert_plays.sql) this finds nothing at no cost.
CREATE OR REPLACE TEMP TABLE stage_sum_fits AS
SELECT coalesce(max(plays), 0)::HUGEINT * count(*) < 9223372036854775807 AS fits
FROM stage_rows;

CREATE OR REPLACE TEMP TABLE stage_overflow AS
WITH pair_rows AS (
    SELECT r.row_id, r.user_ref, r.spelling_ref, r.plays, u.user_key, s.artist_key
    FROM stage_rows r
    JOIN stage_user u USING (user_ref)
    JOIN stage_spelling_ref f USING (spelling_ref)
    JOIN stage_spelling s ON s.raw_name = trim(f.name_raw) AND s.mbid_text = f.mbid_text
    WHERE NOT (SELECT fits FROM stage_sum_fits) AND u.reason IS NULL AND f.reason IS NULL
),
past AS (
    SELECT user_key, artist_key FROM pair_rows GROUP BY ALL HAVING sum(plays) > 9223372036854775807
)
SELECT p.row_id, p.user_ref, p.spelling_ref, p.plays
FROM pair_rows p SEMI JOIN past USING (user_key, artist_key);

INSERT INTO stage_late
SELECT o.row_id, o.user_ref, o.spelling_ref,
       'plays of this user and artist sum past 2^63-1 (9223372036854775807): every line of the pair is rejected',
       coalesce(k.raw, concat_ws(chr(9), u.user_raw, s.mbid_text, s.name_raw, o.plays::VARCHAR))
FROM stage_overflow o
JOIN stage_user u USING (user_ref)
JOIN stage_spelling_ref s USING (spelling_ref)
LEFT JOIN stage_kept_raw k USING (row_id);

-- Good users and spellings with the lines they keep, now that those are rejected too (a user or spelling
-- only seen on rejected lines is not registered; a spelling's lines pick the display name below).
CREATE OR REPLACE TEMP TABLE stage_user_live AS
SELECT u.user_ref, u.user_key, u.first_line
FROM stage_user u LEFT JOIN (SELECT user_ref, count(*) AS n FROM stage_late GROUP BY ALL) l USING (user_ref)
WHERE u.reason IS NULL AND u.lines > coalesce(l.n, 0);

CREATE OR REPLACE TEMP TABLE stage_spelling_live AS
SELECT s.spelling_ref, trim(s.name_raw) AS raw_name, s.mbid_text, s.lines - coalesce(l.n, 0) AS lines
FROM stage_spelling_ref s
LEFT JOIN (SELECT spelling_ref, count(*) AS n FROM stage_late GROUP BY ALL) l USING (spelling_ref)
WHERE s.reason IS NULL AND s.lines > coalesce(l.n, 0);

CREATE OR REPLACE TEMP TABLE stage_spelling AS
SELECT s.* REPLACE (l.lines AS lines)
FROM stage_spelling s
JOIN (SELECT raw_name, mbid_text, sum(lines) AS lines FROM stage_spelling_live GROUP BY ALL) l
    USING (raw_name, mbid_text);

-- 3. New artists get the next ids (deterministic order); display name = most used spelling.
INSERT INTO artist (artist_id, artist_key, mbid, name, name_norm, is_placeholder, first_dump_id)
WITH per_key AS (
    SELECT artist_key,
           any_value(artist_mbid) AS mbid,
           -- most lines, then the spelling given with a valid MBID, then one with capitals, then by text
           arg_max(raw_name, {'l': lines, 'm': mbid IS NOT NULL, 'u': raw_name <> lower(raw_name), 'n': raw_name})
               FILTER (WHERE raw_name <> '') AS name,
           -- the display name's own normal form (the same order: a tie in lines never picks at random)
           arg_max(name_norm, {'l': lines, 'm': mbid IS NOT NULL, 'u': raw_name <> lower(raw_name), 'n': raw_name})
               FILTER (WHERE name_norm <> '') AS name_norm
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

-- 4. New users get the next ids, in the order they first appear in the dump (a Last.FM dump lists each
--    user's lines together: the plays then come in user order, see musim.ingest.plays_360k.merge_plays).
INSERT INTO lastfm_user (user_id, user_key)
WITH fresh AS (
    SELECT k.user_key, min(k.first_line) AS first_line
    FROM stage_user_live k ANTI JOIN lastfm_user u ON u.user_key = k.user_key
    GROUP BY k.user_key
)
SELECT (SELECT coalesce(max(user_id), 0) FROM lastfm_user) + row_number() OVER (ORDER BY first_line, user_key),
       user_key
FROM fresh;

-- 5. Users' and spellings' ids, for the plays (sql/ingest/insert_plays.sql, or merged in C by
--    musim.ingest.plays_360k.merge_plays and inserted by sql/ingest/insert_merged_plays.sql).
CREATE OR REPLACE TEMP TABLE stage_user_map AS
SELECT l.user_ref, u.user_id FROM stage_user_live l JOIN lastfm_user u USING (user_key);

CREATE OR REPLACE TEMP TABLE stage_spelling_map AS
SELECT l.spelling_ref, a.artist_id
FROM stage_spelling_live l JOIN stage_spelling s USING (raw_name, mbid_text) JOIN artist a USING (artist_key);

-- 6. Rejected lines, numbered (stage_row_lines; the pre-scan's own rejects are inserted alongside).
INSERT INTO ingest_rejects (dump_id, file_kind, line_no, raw, reason)
SELECT $dump_id, $file_kind, r.row_id + m.shift, r.raw, r.reason
FROM (
    SELECT row_id, raw, reason FROM stage_line_rejects
    UNION ALL
    SELECT row_id, raw, reason FROM stage_late
) r
ASOF JOIN stage_row_lines m ON r.row_id >= m.first_rowid;
