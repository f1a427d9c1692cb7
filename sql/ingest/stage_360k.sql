-- Stage a Last.FM 360K plays file for the DuckDB engine (MUSIM_INGEST_ENGINE=duckdb; the C engine scans it
-- in musim.ingest.plays_360k instead): one row per row DuckDB reads, in file order (musim.ingest.staging
-- maps rows to physical lines and drops the rows of the lines the pre-scan rejected or fixed). Lines are
-- 'user-sha1 \t artist-mbid \t artist-name \t plays', no header, no quoting.
--
-- Each line is read whole (its only carriage return, if any, ends it: the pre-scan takes every line with
-- another one) and split here, so that a rejected line keeps its exact text, extra fields included. The
-- delimiter is chr(13), not '\r': DuckDB reads '\r' as the two characters backslash and r (only '\t' is
-- taken for its control character), which cut a line at an artist name such as "DJ \real".
-- The checks are the C engine's, in the same order: fields, then plays (a line with bad plays gets its
-- user's or artist's reason first, if it has one). A line that passes keeps its user id and artist spelling
-- as in the file (with their hashes): they are checked, trimmed and resolved once per distinct value by
-- sql/ingest/group_staged.sql and load_dump.sql. raw is kept where the line cannot be rebuilt from the
-- stored fields (a rejected line, or plays written some other way than the plain integer).
-- Appended to the scratch table {{table}} (the staged rows, or the probe of the irregular lines).
INSERT INTO ingest_scratch.{{table}}
SELECT
    f[1] AS user_key,
    f[2] AS mbid_text,
    f[3] AS raw_name,
    plays,
    reason,
    CASE WHEN reason IS NOT NULL OR NOT canonical THEN line END AS raw,
    hash(f[1]) AS user_hash,
    hash(f[3], f[2]) AS spelling_hash
FROM (
    SELECT *,
        CASE
            WHEN len(f) < 4 THEN 'too few fields: expected 4 tab-separated fields (user, mbid, artist, plays)'
            WHEN len(f) > 4 THEN 'too many fields: expected 4 tab-separated fields (user, mbid, artist, plays)'
            WHEN plays IS NULL OR plays < 0 THEN coalesce(
                ingest_scratch.user_reason(f[1], '360k'),
                ingest_scratch.spelling_reason(f[3], f[2]),
                CASE WHEN plays IS NULL THEN 'plays is not an integer of at most 18 digits' ELSE 'negative plays' END)
        END AS reason
    FROM (
        SELECT line, f,
               -- the plain integer first (what the C engine calls canonical: digits only, no leading zero,
               -- at most 18 of them); the exact form (sign, surrounding spaces) only where that fails
               try_cast(f[4] AS BIGINT) AS plays_fast,
               coalesce(length(f[4]) <= 18 AND plays_fast::VARCHAR = f[4], false) AS canonical,
               CASE WHEN canonical THEN plays_fast
                    WHEN regexp_full_match(trim(f[4]), '[+-]?[0-9]{1,18}') THEN trim(f[4])::BIGINT END AS plays
        FROM (
            SELECT line, string_split(line, chr(9)) AS f
            FROM read_csv(${path}, delim = chr(13), quote = '', escape = '', header = false, auto_detect = false,
                          columns = {'line': 'VARCHAR', 'cr': 'VARCHAR'}, null_padding = true,
                          strict_mode = false, nullstr = ${nullstr}, new_line = '\n', ignore_errors = true,
                          compression = ${compression})
        )
    )
)
