-- Stage a profiles file: 360K 'user-sha1 \t gender \t age \t country \t signup' (signup like 'Apr 28, 2008'),
-- or 1K '#id \t gender \t age \t country \t registered' with a header line. One row per physical line.
INSERT INTO ingest_scratch.stage_profiles
WITH raw AS (
    SELECT row_number() OVER () + $first_line - 1 AS line_no, f1, f2, f3, f4, f5, f6
    FROM read_csv(${path}, delim = '\t', quote = '', escape = '', header = false, auto_detect = false,
                  columns = {'f1': 'VARCHAR', 'f2': 'VARCHAR', 'f3': 'VARCHAR', 'f4': 'VARCHAR',
                             'f5': 'VARCHAR', 'f6': 'VARCHAR'},
                  null_padding = true, strict_mode = false, nullstr = ${nullstr}, new_line = '\n')
),
fields AS (
    SELECT line_no, f1, f2, f3, f4, f5, f6,
           trim(f1) AS user_key,
           nullif(lower(trim(f2)), '') AS gender,
           try_cast(nullif(trim(f3), '') AS SMALLINT) AS age,
           nullif(trim(f4), '') AS country,
           coalesce(try_strptime(nullif(trim(f5), ''), '%b %d, %Y'),
                    try_strptime(nullif(trim(f5), ''), '%Y-%m-%d'))::DATE AS signup
    FROM raw
    WHERE f1 IS DISTINCT FROM $marker
),
checked AS (
    SELECT *,
        CASE
            WHEN f2 IS NULL AND trim(f1) = '' THEN 'blank line'
            WHEN starts_with(trim(f1), '#') THEN 'header line'
            WHEN f5 IS NULL THEN 'too few fields: expected 5 tab-separated fields (user, gender, age, country, signup)'
            WHEN f6 IS NOT NULL THEN 'too many fields: expected 5 tab-separated fields (user, gender, age, country, signup)'
            WHEN user_key = '' THEN 'empty user id'
            WHEN trim(f3) <> '' AND age IS NULL THEN 'age is not an integer'
            WHEN trim(f5) <> '' AND signup IS NULL THEN 'signup is not a date like "Apr 28, 2008"'
            WHEN row_number() OVER (PARTITION BY user_key ORDER BY line_no) > 1 THEN 'duplicate user (first profile line kept)'
        END AS reason
    FROM fields
)
SELECT line_no, user_key, gender, age, country, signup, reason,
       CASE WHEN reason IS NOT NULL THEN concat_ws(chr(9), f1, f2, f3, f4, f5, f6) END AS raw
FROM checked;
