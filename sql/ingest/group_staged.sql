-- The distinct users and spellings, rows and line rejects of a file staged by DuckDB (a 1K events file, or a
-- 360K plays file with the DuckDB engine: ingest_scratch.stage_checked from sql/ingest/stage_1k.sql or
-- stage_360k.sql; $format: 1k or 360k), as sql/ingest/load_dump.sql takes them.
-- Rows carry 64-bit hashes of their user id and spelling as refs: users and spellings are grouped once here,
-- and a hash shared by two different strings stops the ingest (checked below), never mixes two users or
-- artists. A row's line is its rowid + the shift of its run of rows (ingest_scratch.stage_checked_lines);
-- the rows of lines with a lone CR are staged after the others, from rowid $fixed_from on.

CREATE OR REPLACE TEMP TABLE stage_user AS
WITH per_user AS (
    SELECT user_key AS user_raw, any_value(user_hash) AS user_ref, count(*) AS lines,
           -- rows are in line order before $fixed_from and from it on: the first line is one of these two
           [min(rowid) FILTER (WHERE rowid < $fixed_from), min(rowid) FILTER (WHERE rowid >= $fixed_from)] AS firsts
    FROM ingest_scratch.stage_checked
    WHERE reason IS NULL
    GROUP BY user_key
),
first_line AS (
    SELECT f.user_ref, min(f.row_id + m.shift) AS first_line
    FROM (SELECT user_ref, unnest(firsts) AS row_id FROM per_user) f
    ASOF JOIN ingest_scratch.stage_checked_lines m ON f.row_id >= m.first_rowid
    GROUP BY f.user_ref
)
SELECT user_ref, user_raw,
       CASE WHEN regexp_full_match(user_raw, '[0-9a-f]{40}') THEN user_raw ELSE trim(user_raw) END AS user_key,
       ingest_scratch.user_reason(user_raw, $format) AS reason,
       first_line, lines
FROM per_user JOIN first_line USING (user_ref);

CREATE OR REPLACE TEMP TABLE stage_spelling_ref AS
SELECT spelling_ref, name_raw, mbid_text, ingest_scratch.spelling_reason(name_raw, mbid_text) AS reason, lines
FROM (
    SELECT raw_name AS name_raw, mbid_text, any_value(spelling_hash) AS spelling_ref, count(*) AS lines
    FROM ingest_scratch.stage_checked
    WHERE reason IS NULL
    GROUP BY raw_name, mbid_text
);

SELECT CASE WHEN (SELECT count(DISTINCT user_ref) < count(*) FROM stage_user)
              OR (SELECT count(DISTINCT spelling_ref) < count(*) FROM stage_spelling_ref)
            THEN error('64-bit hash collision between two user ids or artist spellings: ingest stopped, nothing stored. Please report this dump.')
       END;

CREATE OR REPLACE TEMP VIEW stage_rows AS
SELECT rowid AS row_id, user_hash AS user_ref, spelling_hash AS spelling_ref, plays
FROM ingest_scratch.stage_checked
WHERE reason IS NULL;

-- The raw text of passing lines that their fields cannot rebuild (360K plays not written as a plain integer;
-- none in a 1K file, whose every check runs line by line).
CREATE OR REPLACE TEMP VIEW stage_kept_raw AS
SELECT rowid AS row_id, raw FROM ingest_scratch.stage_checked WHERE reason IS NULL AND raw IS NOT NULL;

CREATE OR REPLACE TEMP VIEW stage_row_lines AS
SELECT first_rowid, shift FROM ingest_scratch.stage_checked_lines;

CREATE OR REPLACE TEMP VIEW stage_line_rejects AS
SELECT rowid AS row_id, raw, reason FROM ingest_scratch.stage_checked WHERE reason IS NOT NULL;
