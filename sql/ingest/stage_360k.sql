-- Stage a Last.FM 360K plays file: one row per physical line, checked.
-- Lines are 'user-sha1 \t artist-mbid \t artist-name \t plays', no header, no quoting.
-- ${path}: one part of the pre-scanned file, whose first line is line $first_line of the dump; the
-- caller sets preserve_insertion_order, so row_number() over the read is the physical line number.
-- The nullstr is a string that never occurs, so an empty field stays '' and only a missing field is NULL.
INSERT INTO ingest_scratch.stage_checked
WITH raw AS (
    SELECT row_number() OVER () + $first_line - 1 AS line_no, f1, f2, f3, f4, f5
    FROM read_csv(${path}, delim = '\t', quote = '', escape = '', header = false, auto_detect = false,
                  columns = {'f1': 'VARCHAR', 'f2': 'VARCHAR', 'f3': 'VARCHAR', 'f4': 'VARCHAR', 'f5': 'VARCHAR'},
                  null_padding = true, strict_mode = false, nullstr = ${nullstr}, new_line = '\n')
),
fields AS (
    -- The cheap forms first, the exact ones only where those fail (a few lines): a well-formed user id
    -- needs no trim; canonical plays need no regex. The MBID stays text here: it is cast once per
    -- distinct spelling by the load, not once per line.
    SELECT line_no, f1, f2, f3, f4, f5,
           regexp_matches(f1, '^[0-9a-f]{40}$') AS user_ok,
           CASE WHEN user_ok THEN f1 ELSE trim(f1) END AS user_key,
           f2 AS mbid_text,
           trim(f3) AS raw_name,
           try_cast(f4 AS BIGINT) AS plays_fast,
           CASE WHEN plays_fast::VARCHAR = f4 THEN plays_fast
                WHEN regexp_full_match(trim(f4), '[+-]?[0-9]{1,18}') THEN trim(f4)::BIGINT END AS plays
    FROM raw
    WHERE f1 IS DISTINCT FROM $marker            -- lines the pre-scan already rejected
),
checked AS (
    SELECT *,
        CASE
            WHEN f2 IS NULL AND trim(f1) = '' THEN 'blank line'
            WHEN f4 IS NULL THEN 'too few fields: expected 4 tab-separated fields (user, mbid, artist, plays)'
            WHEN f5 IS NOT NULL THEN 'too many fields: expected 4 tab-separated fields (user, mbid, artist, plays)'
            WHEN user_ok THEN CASE
                WHEN raw_name = '' AND try_cast(trim(f2) AS UUID) IS NULL THEN 'empty artist name and no valid MBID'
                WHEN plays IS NULL THEN 'plays is not an integer'
                WHEN plays < 0 THEN 'negative plays'
            END
            WHEN user_key = '' THEN 'empty user id'
            WHEN NOT regexp_full_match(user_key, '[0-9a-f]{40}') THEN 'user id is not a 40-character lower-case hex sha1'
            WHEN raw_name = '' AND try_cast(trim(f2) AS UUID) IS NULL THEN 'empty artist name and no valid MBID'
            WHEN plays IS NULL THEN 'plays is not an integer'
            WHEN plays < 0 THEN 'negative plays'
        END AS reason
    FROM fields
)
SELECT line_no, user_key, mbid_text, raw_name, plays, reason,
       CASE WHEN reason IS NOT NULL THEN concat_ws(chr(9), f1, f2, f3, f4, f5) END AS raw
FROM checked;
