-- The line checks of a 1K file without their shortcuts: each shortened check of sql/ingest/scratch.sql made its
-- plain rule again. Run after scratch.sql by tests/ingest/test_staging.py, which ingests the same files
-- with and without it: the shortcuts must load and reject exactly what the plain rules do.
CREATE OR REPLACE MACRO ingest_scratch.user_reason_1k_fast(user_raw) AS ingest_scratch.user_reason(user_raw, '1k');

CREATE OR REPLACE MACRO ingest_scratch.event_time_reason_fast(time_raw) AS ingest_scratch.event_time_reason(time_raw);

CREATE OR REPLACE MACRO ingest_scratch.spelling_reason_fast(name_raw, mbid_raw) AS
    ingest_scratch.spelling_reason(name_raw, mbid_raw);

CREATE OR REPLACE MACRO ingest_scratch.spelling_reason_1k_line(name_raw, mbid_raw) AS
    ingest_scratch.spelling_reason(name_raw, mbid_raw);
