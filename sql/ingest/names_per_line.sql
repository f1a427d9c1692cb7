-- Stage a 1K file again with its artist check whole on every line: a spelling failed the check per spelling
-- (sql/ingest/group_staged.sql) that the staging left it to (sql/ingest/scratch.sql, spelling_reason_1k_line),
-- and only the staging keeps a rejected line's raw text. The staged table starts again empty (its rowids from 0:
-- they are the lines' order).
CREATE OR REPLACE MACRO ingest_scratch.spelling_reason_1k_line(name_raw, mbid_raw) AS
    ingest_scratch.spelling_reason_fast(name_raw, mbid_raw);

CREATE OR REPLACE TABLE ingest_scratch.stage_checked AS SELECT * FROM ingest_scratch.stage_checked LIMIT 0;
