-- Stage a Last.FM 1K listening-events file: one row per row DuckDB reads, in file order (musim.ingest.staging
-- maps rows to physical lines and drops the rows of irregular lines). Lines are
-- 'user-id \t timestamp \t artist-mbid \t artist-name \t track-mbid \t track-name'; each valid line counts
-- as one play and the load aggregates them to user-artist play counts. The nullstr is a string that never
-- occurs, so an empty field stays '' and only a missing field is NULL.
-- Every check runs here, line by line (the load's per-distinct checks then find nothing more): a rejected
-- line's raw text cannot be rebuilt from the stored fields of this format, so each line is read whole and
-- split here (as in stage_360k.sql, which explains the chr(13) delimiter): raw is the line exactly, every
-- extra field included.
-- The timestamp is only checked (a line counts one play): an ISO-8601 date and time, in the extended form
-- (2009-05-04T23:08:57Z; a space for the T, seconds, a fraction and the zone, Z or +hh:mm, optional) or the
-- basic one (20090504T230857Z); the regular expression picks the form, the cast checks the calendar (no
-- 2009-02-30). A date alone is no time of a listening event; 2009/05/04 or 2009-5-4 1:2:3 are not ISO-8601,
-- though DuckDB's cast alone reads them.
-- Appended to the scratch table {{table}} (the staged rows, or the probe of the irregular lines).
INSERT INTO ingest_scratch.{{table}}
SELECT
    f1 AS user_key,
    f3 AS mbid_text,
    f4 AS raw_name,
    1::BIGINT AS plays,
    reason,
    CASE WHEN reason IS NOT NULL THEN line END AS raw,
    hash(f1) AS user_hash,
    hash(f4, f3) AS spelling_hash
FROM (
    SELECT *,
        CASE
            WHEN f2 IS NULL AND trim(f1) = '' THEN 'blank line'
            WHEN f6 IS NULL THEN 'too few fields: expected 6 tab-separated fields (user, timestamp, artist mbid, artist, track mbid, track)'
            WHEN f7 IS NOT NULL THEN 'too many fields: expected 6 tab-separated fields (user, timestamp, artist mbid, artist, track mbid, track)'
            WHEN ingest_scratch.user_reason(f1, '1k') IS NOT NULL THEN ingest_scratch.user_reason(f1, '1k')
            WHEN try_cast(CASE
                              WHEN regexp_full_match(trim(f2), '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:[0-9]{2})?)?')
                                  THEN trim(f2)
                              WHEN regexp_full_match(trim(f2), '[0-9]{8}T[0-9]{6}(\.[0-9]+)?(Z|[+-][0-9]{2}([0-9]{2})?)?')
                                  THEN regexp_replace(trim(f2), '^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})',
                                                      '\1-\2-\3T\4:\5:\6')
                          END AS TIMESTAMPTZ) IS NULL THEN 'timestamp is not an ISO-8601 time'
            ELSE ingest_scratch.spelling_reason(f4, f3)
        END AS reason
    FROM (
        SELECT line, f[1] AS f1, f[2] AS f2, f[3] AS f3, f[4] AS f4, f[5] AS f5, f[6] AS f6, f[7] AS f7
        FROM (
            SELECT line, string_split(line, chr(9)) AS f
            FROM read_csv(${path}, delim = chr(13), quote = '', escape = '', header = false, auto_detect = false,
                          columns = {'line': 'VARCHAR', 'cr': 'VARCHAR'}, null_padding = true,
                          strict_mode = false, nullstr = ${nullstr}, new_line = '\n', ignore_errors = true,
                          compression = ${compression})
        )
    )
)
