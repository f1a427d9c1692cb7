-- Stage a profiles file: 360K 'user-sha1 \t gender \t age \t country \t signup' (signup like 'Apr 28, 2008'),
-- or 1K '#id \t gender \t age \t country \t registered' with a header line. One row per row DuckDB reads, in
-- file order (see stage_1k.sql); the load rejects repeated users, keeping the first line of each, so
-- every line keeps its raw text (a profiles file is small): each line is read whole and split here (as in
-- stage_360k.sql, which explains the chr(13) delimiter), so raw is the line exactly, extra fields included.
-- Appended to the scratch table {{table}} (the staged rows, or the probe of the irregular lines).
INSERT INTO ingest_scratch.{{table}}
SELECT user_key, gender, age, country, signup, reason, line AS raw
FROM (
    SELECT *,
        CASE
            WHEN f2 IS NULL AND trim(f1) = '' THEN 'blank line'
            WHEN starts_with(trim(f1), '#') THEN 'header line'
            WHEN f5 IS NULL THEN 'too few fields: expected 5 tab-separated fields (user, gender, age, country, signup)'
            WHEN f6 IS NOT NULL THEN 'too many fields: expected 5 tab-separated fields (user, gender, age, country, signup)'
            WHEN user_key = '' THEN 'empty user id'
            -- NUL, the other C0 control characters and DEL, as in an artist name (sql/ingest/scratch.sql): junk
            -- (an ESC sequence printed by whatever shows the profile), no gender nor country
            WHEN regexp_matches(f2, '[\x{00}-\x{08}\x{0A}-\x{1F}\x{7F}]') THEN 'control character in gender'
            WHEN regexp_matches(f4, '[\x{00}-\x{08}\x{0A}-\x{1F}\x{7F}]') THEN 'control character in country'
            WHEN trim(f3) <> '' AND NOT age_integer THEN 'age is not an integer'
            WHEN trim(f3) <> '' AND age IS NULL THEN 'age out of range: not from -32768 to 32767'
            WHEN trim(f5) <> '' AND signup IS NULL THEN 'signup is not a date like "Apr 28, 2008"'
        END AS reason
    FROM (
        SELECT line, f1, f2, f3, f4, f5, f6,
               trim(f1) AS user_key,
               nullif(lower(trim(f2)), '') AS gender,
               -- digits only: a cast alone rounds 25.5 to 26 and reads 1e1, 25_0 and 0x19 as numbers
               regexp_full_match(trim(f3), '[+-]?[0-9]+') AS age_integer,
               CASE WHEN age_integer THEN try_cast(trim(f3) AS SMALLINT) END AS age,
               nullif(trim(f4), '') AS country,
               -- a year of four digits: strptime's %Y reads 'Feb 27, 20' (a line cut short) as the year 20
               CASE WHEN regexp_matches(trim(f5), '(^|[^0-9])[0-9]{4}([^0-9]|$)')
                    THEN coalesce(try_strptime(nullif(trim(f5), ''), '%b %d, %Y'),
                                  try_strptime(nullif(trim(f5), ''), '%Y-%m-%d'))::DATE END AS signup
        FROM (
            SELECT line, f[1] AS f1, f[2] AS f2, f[3] AS f3, f[4] AS f4, f[5] AS f5, f[6] AS f6
            FROM (
                SELECT line, string_split(line, chr(9)) AS f
                FROM read_csv(${path}, delim = chr(13), quote = '', escape = '', header = false,
                              auto_detect = false, columns = {'line': 'VARCHAR', 'cr': 'VARCHAR'},
                              null_padding = true, strict_mode = false, nullstr = ${nullstr}, new_line = '\n',
                              ignore_errors = true, compression = ${compression})
            )
        )
    )
)
