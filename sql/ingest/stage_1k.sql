-- Stage a Last.FM 1K listening-events file: one row per physical line (= one play), checked.
-- Lines are 'user-id \t timestamp \t artist-mbid \t artist-name \t track-mbid \t track-name'.
-- Each valid line counts as one play; the load step aggregates to user-artist play counts.
INSERT INTO ingest_scratch.stage_checked
WITH raw AS (
    SELECT row_number() OVER () + $first_line - 1 AS line_no, f1, f2, f3, f4, f5, f6, f7
    FROM read_csv(${path}, delim = '\t', quote = '', escape = '', header = false, auto_detect = false,
                  columns = {'f1': 'VARCHAR', 'f2': 'VARCHAR', 'f3': 'VARCHAR', 'f4': 'VARCHAR',
                             'f5': 'VARCHAR', 'f6': 'VARCHAR', 'f7': 'VARCHAR'},
                  null_padding = true, strict_mode = false, nullstr = ${nullstr}, new_line = '\n')
),
fields AS (
    SELECT line_no, f1, f2, f3, f4, f5, f6, f7,
           trim(f1) AS user_key,
           try_cast(trim(f2) AS TIMESTAMPTZ) AS played_at,
           f3 AS mbid_text,
           trim(f4) AS raw_name
    FROM raw
    WHERE f1 IS DISTINCT FROM $marker
),
checked AS (
    SELECT *,
        CASE
            WHEN f2 IS NULL AND trim(f1) = '' THEN 'blank line'
            WHEN f6 IS NULL THEN 'too few fields: expected 6 tab-separated fields (user, timestamp, artist mbid, artist, track mbid, track)'
            WHEN f7 IS NOT NULL THEN 'too many fields: expected 6 tab-separated fields (user, timestamp, artist mbid, artist, track mbid, track)'
            WHEN user_key = '' THEN 'empty user id'
            WHEN played_at IS NULL THEN 'timestamp is not an ISO-8601 time'
            WHEN raw_name = '' AND try_cast(trim(f3) AS UUID) IS NULL THEN 'empty artist name and no valid MBID'
        END AS reason
    FROM fields
)
SELECT line_no, user_key, mbid_text, raw_name, 1::BIGINT AS plays, reason,
       CASE WHEN reason IS NOT NULL THEN concat_ws(chr(9), f1, f2, f3, f4, f5, f6, f7) END AS raw
FROM checked;
