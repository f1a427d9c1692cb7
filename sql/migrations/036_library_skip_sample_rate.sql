-- A library file at a sample rate outside the one range musim accepts (musim.audio.formats: 8-768 kHz) was skipped
-- `undecodable`, which it is not: it decodes, its rate is what musim refuses. It has its own reason now,
-- `sample_rate_out_of_range`. library_skip's CHECK (migration 010) lists the reasons, and DuckDB cannot alter a
-- CHECK, so the table is rebuilt: created anew with the longer list, every row copied, the old one dropped and the
-- new one renamed (in this migration's one transaction). The rows recorded for such a file before (reason
-- `undecodable`, the detail musim.audio.formats.rate_outside wrote: "sample rate 100 Hz is outside the
-- 8,000-768,000 Hz musim accepts") take the new reason as they are copied, so the next `musim library add`, which
-- reports an unchanged file's recorded skip without decoding it, names it as a fresh examination would.
CREATE TABLE library_skip_by_rate (
    source_path   VARCHAR PRIMARY KEY,
    source_sha256 VARCHAR,                           -- NULL when the file could not be read
    reason        VARCHAR NOT NULL CHECK (reason IN ('empty', 'unreadable', 'not_audio', 'undecodable', 'truncated',
                                                     'too_short', 'sample_rate_out_of_range', 'silent',
                                                     'duplicate_content')),
    detail        VARCHAR,
    seen_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO library_skip_by_rate (source_path, source_sha256, reason, detail, seen_at)
SELECT source_path,
       source_sha256,
       CASE WHEN reason = 'undecodable'
                 AND regexp_full_match(detail, 'sample rate [0-9,]+ Hz is outside the [0-9,]+-[0-9,]+ Hz musim accepts')
            THEN 'sample_rate_out_of_range' ELSE reason END,
       detail,
       seen_at
FROM library_skip;

DROP TABLE library_skip;
ALTER TABLE library_skip_by_rate RENAME TO library_skip;
