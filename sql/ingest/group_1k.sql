-- The distinct users and spellings, rows and line rejects of a 1K events file staged by DuckDB
-- (ingest_scratch.stage_checked, from sql/ingest/stage_1k.sql), as sql/ingest/load_dump.sql takes them.
-- Rows carry 64-bit hashes of their user id and spelling as refs: users and spellings are grouped once here,
-- and a hash shared by two different strings stops the ingest (checked below), never mixes two users or
-- artists. A row's line is its rowid + the shift of its run of rows (ingest_scratch.stage_checked_lines).

CREATE OR REPLACE TEMP TABLE stage_user AS
SELECT user_ref, user_raw,
       CASE WHEN regexp_full_match(user_raw, '[0-9a-f]{40}') THEN user_raw ELSE trim(user_raw) END AS user_key,
       ingest_scratch.user_reason(user_raw, '1k') AS reason,
       first_line, lines
FROM (
    -- first_line: the first staged row (file order; a line with a lone CR is staged after the others)
    SELECT user_key AS user_raw, any_value(user_hash) AS user_ref, min(rowid) AS first_line, count(*) AS lines
    FROM ingest_scratch.stage_checked
    WHERE reason IS NULL
    GROUP BY user_key
);

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

-- Every check of this format runs line by line (sql/ingest/stage_1k.sql): no line passes them to be
-- rejected later for its user or spelling, so no raw text of a passing line is needed.
CREATE OR REPLACE TEMP VIEW stage_kept_raw AS
SELECT 0::BIGINT AS row_id, ''::VARCHAR AS raw WHERE false;

CREATE OR REPLACE TEMP VIEW stage_row_lines AS
SELECT first_rowid, shift FROM ingest_scratch.stage_checked_lines;

CREATE OR REPLACE TEMP VIEW stage_line_rejects AS
SELECT rowid AS row_id, raw, reason FROM ingest_scratch.stage_checked WHERE reason IS NOT NULL;
