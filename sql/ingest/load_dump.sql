-- Load a checked stage (stage_checked) into the warehouse tables for dump $dump_id.
-- Runs inside the ingest transaction: all of it lands, or none of it.

-- 1. Spellings (name and MBID text as in the file) in this dump and the artist each one resolves to.
--    Identity: the MBID where valid; else, if this normalised name carries exactly one MBID elsewhere in
--    the dump, that artist; else the normalised name.
CREATE OR REPLACE TEMP TABLE stage_spelling AS
WITH spellings AS (
    SELECT raw_name, mbid_text, try_cast(trim(mbid_text) AS UUID) AS mbid, count(*) AS lines
    FROM ingest_scratch.stage_checked
    WHERE reason IS NULL
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

-- 2. New artists get the next ids (deterministic order); display name = most used spelling.
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

-- 3. New users get the next ids.
INSERT INTO lastfm_user (user_id, user_key)
WITH keys AS (
    SELECT DISTINCT user_key FROM ingest_scratch.stage_checked WHERE reason IS NULL
),
fresh AS (
    SELECT k.user_key FROM keys k ANTI JOIN lastfm_user u ON u.user_key = k.user_key
)
SELECT (SELECT coalesce(max(user_id), 0) FROM lastfm_user) + row_number() OVER (ORDER BY user_key), user_key
FROM fresh;

-- 4. Plays: duplicate user-artist lines merged (plays summed, lines counted).
--    The 16M staged rows find their user and artist through 64-bit hashes of (user key) and (spelling,
--    MBID): an integer join is a third cheaper than joining on the strings. The maps are checked
--    collision-free first (a collision would stop the ingest, never mix two artists).
CREATE OR REPLACE TEMP TABLE stage_user_map AS
SELECT hash(u.user_key) AS h, u.user_id
FROM lastfm_user u SEMI JOIN (SELECT DISTINCT user_key FROM ingest_scratch.stage_checked WHERE reason IS NULL) k
    ON k.user_key = u.user_key;

CREATE OR REPLACE TEMP TABLE stage_spelling_map AS
SELECT hash(s.raw_name, s.mbid_text) AS h, a.artist_id
FROM stage_spelling s JOIN artist a USING (artist_key);

SELECT CASE WHEN (SELECT count(*) <> count(DISTINCT h) FROM stage_user_map)
              OR (SELECT count(*) <> count(DISTINCT h) FROM stage_spelling_map)
            THEN error('64-bit hash collision between two user keys or spellings: ingest stopped, nothing stored. Please report this dump.')
       END;

INSERT INTO lastfm_plays (dump_id, user_id, artist_id, plays, lines)
SELECT $dump_id, u.user_id, s.artist_id, sum(c.plays), count(*)
FROM ingest_scratch.stage_checked c
JOIN stage_user_map u ON u.h = hash(c.user_key)
JOIN stage_spelling_map s ON s.h = hash(c.raw_name, c.mbid_text)
WHERE c.reason IS NULL
GROUP BY u.user_id, s.artist_id;

-- 5. Rejected lines found by the checks (the pre-scan's are inserted alongside).
INSERT INTO ingest_rejects (dump_id, file_kind, line_no, raw, reason)
SELECT $dump_id, $file_kind, line_no, raw, reason
FROM ingest_scratch.stage_checked
WHERE reason IS NOT NULL;
