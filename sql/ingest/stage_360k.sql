-- Stage a Last.FM 360K plays file: one row per row DuckDB reads, in file order (musim.ingest.staging maps
-- rows to physical lines and drops the rows of irregular lines). Lines are
-- 'user-sha1 \t artist-mbid \t artist-name \t plays', no header, no quoting.
-- The nullstr is a string that never occurs, so an empty field stays '' and only a missing field is NULL.
--
-- Only what must be checked line by line is checked here: the fields and the plays. A line that passes
-- keeps its user id and artist spelling as in the file (with their hashes): those are checked, trimmed and
-- resolved once per distinct value by sql/ingest/load_dump.sql, not sixteen million times. A line that
-- fails gets its full reason here, in the same order of checks as the load's (fields, user, artist, plays).
-- raw is kept where the line cannot be rebuilt from the stored fields (a rejected line, or plays written
-- some other way than the plain integer).
SELECT
    f1 AS user_key,
    f2 AS mbid_text,
    f3 AS raw_name,
    plays,
    reason,
    CASE WHEN reason IS NOT NULL OR NOT canonical THEN concat_ws(chr(9), f1, f2, f3, f4, f5) END AS raw,
    hash(f1) AS user_hash,
    hash(f3, f2) AS spelling_hash
FROM (
    SELECT *,
        CASE
            WHEN f2 IS NULL AND trim(f1) = '' THEN 'blank line'
            WHEN f4 IS NULL THEN 'too few fields: expected 4 tab-separated fields (user, mbid, artist, plays)'
            WHEN f5 IS NOT NULL THEN 'too many fields: expected 4 tab-separated fields (user, mbid, artist, plays)'
            WHEN plays IS NULL OR plays < 0 THEN coalesce(
                ingest_scratch.user_reason(f1, '360k'),
                ingest_scratch.spelling_reason(f3, f2),
                CASE WHEN plays IS NULL THEN 'plays is not an integer' ELSE 'negative plays' END)
        END AS reason
    FROM (
        SELECT f1, f2, f3, f4, f5,
               -- the plain integer first; the exact form (sign, surrounding blanks) only where that fails
               try_cast(f4 AS BIGINT) AS plays_fast,
               coalesce(plays_fast::VARCHAR = f4, false) AS canonical,
               CASE WHEN canonical THEN plays_fast
                    WHEN regexp_full_match(trim(f4), '[+-]?[0-9]{1,18}') THEN trim(f4)::BIGINT END AS plays
        FROM read_csv(${path}, delim = '\t', quote = '', escape = '', header = false, auto_detect = false,
                      columns = {'f1': 'VARCHAR', 'f2': 'VARCHAR', 'f3': 'VARCHAR', 'f4': 'VARCHAR', 'f5': 'VARCHAR'},
                      null_padding = true, strict_mode = false, nullstr = ${nullstr}, new_line = '\n',
                      ignore_errors = true, compression = ${compression})
    )
)
