-- Stage a Last.FM 1K listening-events file: one row per row DuckDB reads, in file order (musim.ingest.staging
-- maps rows to physical lines and drops the rows of irregular lines). Lines are
-- 'user-id \t timestamp \t artist-mbid \t artist-name \t track-mbid \t track-name'; each valid line counts
-- as one play and the load aggregates them to user-artist play counts. The nullstr is a string that never
-- occurs, so an empty field stays '' and only a missing field is NULL.
-- Every check runs here, line by line, but the artist's for control characters, which sql/ingest/group_staged.sql
-- runs per spelling (where one fails, musim.ingest.lastfm stages the file again with it per line): a rejected
-- line's raw text cannot be rebuilt from the stored fields of this format, so each line is read whole and
-- split here (as in stage_360k.sql, which explains the chr(13) delimiter): raw is the line exactly, every
-- extra field included.
-- The user id, the timestamp and the artist are checked by the shortened forms of their rules
-- (sql/ingest/scratch.sql: each gives the plain rule's result, for less work on a line as the dump writes it;
-- the artist's check for control characters is left to one per spelling, spelling_reason_1k_line).
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
            WHEN ingest_scratch.user_reason_1k_fast(f1) IS NOT NULL THEN ingest_scratch.user_reason_1k_fast(f1)
            WHEN ingest_scratch.event_time_reason_fast(f2) IS NOT NULL THEN ingest_scratch.event_time_reason_fast(f2)
            ELSE ingest_scratch.spelling_reason_1k_line(f4, f3)
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
