-- The in-memory scratch database of one ingest (attached per ingest, shared by its staging cursors).
ATTACH ':memory:' AS ingest_scratch;

-- The checks of a user id and of an artist spelling: per line where a line is rejected anyway
-- (sql/ingest/stage_1k.sql, group_360k.sql), per distinct value for the rest (sql/ingest/group_*.sql).
-- NULL: fine.
CREATE MACRO ingest_scratch.user_reason(user_raw, fmt) AS
    CASE
        WHEN trim(user_raw) = '' THEN 'empty user id'
        WHEN fmt = '360k' AND NOT regexp_full_match(trim(user_raw), '[0-9a-f]{40}')
            THEN 'user id is not a 40-character lower-case hex sha1'
        -- the 1K dump's ids, as the lastfm_plays suite checks them (musim.quality.registry.USER_KEY_REGEX)
        WHEN fmt = '1k' AND NOT regexp_full_match(trim(user_raw), 'user_[0-9]{6}')
            THEN 'user id is not like user_000001 (the 1K dump''s ids)'
    END;

CREATE MACRO ingest_scratch.spelling_reason(name_raw, mbid_raw) AS
    -- empty: whitespace only, by the whitespace of the name's normal form (the name_norm macro,
    -- sql/warehouse/macros.sql: a macro of this database cannot call that TEMP one from a staging cursor)
    CASE WHEN try_cast(trim(mbid_raw) AS UUID) IS NULL AND regexp_full_match(name_raw, '[\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Zs}\x{2028}\x{2029}]*')
         THEN 'empty artist name and no valid MBID'
         -- NUL, the other C0 control characters (a tab separates fields: never in a name) and DEL are no part of
         -- a name, and a terminal would act on them where the name is shown
         WHEN regexp_matches(name_raw, '[\x{00}-\x{08}\x{0A}-\x{1F}\x{7F}]') THEN 'control character in artist name'
         -- so are the C1 ones (U+0080-U+009F, CSI and OSC among them): in a name they are text written in
         -- Windows-1252 and read as Latin-1 (its curly quotes, dashes, ellipsis and euro sign), so the name is
         -- not the artist's; the line is rejected, as a byte that is not UTF-8 is
         WHEN regexp_matches(name_raw, '[\x{80}-\x{9F}]')
             THEN 'C1 control character in artist name (U+0080-U+009F: Windows-1252 text read as Latin-1?)' END;

-- The check of a 1K event's timestamp (sql/ingest/stage_1k.sql; a line counts one play, its time is only checked):
-- an ISO-8601 date and time, in the extended form (2009-05-04T23:08:57Z; a space for the T, seconds, a fraction
-- and the zone, Z or +hh:mm, optional) or the basic one (20090504T230857Z); the regular expression picks the
-- form, the cast checks the calendar (no 2009-02-30). A date alone is no time of a listening event; 2009/05/04
-- or 2009-5-4 1:2:3 are not ISO-8601, though DuckDB's cast alone reads them. The cast takes any two digits for a
-- zone offset's hours and minutes too (+99:00, +05:99): a real offset lies within -12:00..+14:00, its minutes
-- below 60, and one that does not is rejected with its own reason.

-- The zone offset of a time in one of the rule's two forms (+hh, +hh:mm or, in the basic form, +hhmm); NULL for any
-- other value, and for Z or no zone.
CREATE MACRO ingest_scratch.event_time_offset(t) AS
    CASE WHEN regexp_full_match(t, '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?[+-][0-9]{2}(:[0-9]{2})?')
              OR regexp_full_match(t, '[0-9]{8}T[0-9]{6}(\.[0-9]+)?[+-][0-9]{2}([0-9]{2})?')
         THEN regexp_extract(t, '[+-][0-9:]+$') END;

CREATE MACRO ingest_scratch.event_time_reason(time_raw) AS
    CASE WHEN NOT regexp_full_match(coalesce(ingest_scratch.event_time_offset(trim(time_raw)), 'Z'),
                                    'Z|\+((0[0-9]|1[0-3])(:?[0-5][0-9])?|14(:?00)?)|-((0[0-9]|1[01])(:?[0-5][0-9])?|12(:?00)?)')
         THEN 'time-zone offset of the timestamp out of range (-12:00 to +14:00, minutes 00 to 59)'
         WHEN try_cast(CASE
                           WHEN regexp_full_match(trim(time_raw), '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:[0-9]{2})?)?')
                               THEN trim(time_raw)
                           WHEN regexp_full_match(trim(time_raw), '[0-9]{8}T[0-9]{6}(\.[0-9]+)?(Z|[+-][0-9]{2}([0-9]{2})?)?')
                               THEN regexp_replace(trim(time_raw), '^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})',
                                                   '\1-\2-\3T\4:\5:\6')
                       END AS TIMESTAMPTZ) IS NULL
         THEN 'timestamp is not an ISO-8601 time' END;

-- The same checks, shortened for the lines of a 1K file (sql/ingest/stage_1k.sql runs them on every line): each
-- passes at once a value that its plain rule above surely passes (the common case: a field of a line as the
-- real dump writes it), and leaves every other value to that rule, so its result is always the rule's.
-- tests/ingest/test_staging.py checks this: value by value, and whole ingests run with these and with
-- the plain rules (sql/ingest/plain_line_checks.sql) load and reject the same.
CREATE MACRO ingest_scratch.user_reason_1k_fast(user_raw) AS
    -- user_ and six digits, nothing around them: trimmed or not, the rule's expression matches it
    CASE WHEN user_raw GLOB 'user_[0-9][0-9][0-9][0-9][0-9][0-9]' THEN NULL
         ELSE ingest_scratch.user_reason(user_raw, '1k') END;

CREATE MACRO ingest_scratch.event_time_reason_fast(time_raw) AS
    -- 2009-05-04T23:08:57Z, as the dump writes every time: the rule's extended form, trimmed or not; the cast
    -- alone is left to check (a day the calendar lacks goes on to the rule, which rejects it)
    CASE WHEN time_raw GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
              AND try_cast(time_raw AS TIMESTAMPTZ) IS NOT NULL THEN NULL
         ELSE ingest_scratch.event_time_reason(time_raw) END;

CREATE MACRO ingest_scratch.spelling_reason_fast(name_raw, mbid_raw) AS
    -- a name that starts with printable ASCII other than the space (! to ~) holds a character that is no
    -- whitespace: it is not empty, whatever its MBID (the rule's cast and expression would find that too); the
    -- check for control characters (C0, DEL, C1) is left (the rule's own)
    CASE WHEN ascii(name_raw) BETWEEN 33 AND 126 AND NOT regexp_matches(name_raw, '[\x{00}-\x{08}\x{0A}-\x{1F}\x{7F}-\x{9F}]')
              THEN NULL
         ELSE ingest_scratch.spelling_reason(name_raw, mbid_raw) END;

-- The artist check of a line of a 1K file as sql/ingest/stage_1k.sql runs it: a name that starts with printable
-- ASCII other than the space passes here unchecked for control characters, which only its spelling can hold: a
-- 1K dump writes each spelling on ~100 lines, and sql/ingest/group_staged.sql checks every spelling once by the
-- plain rule. Where a spelling fails there, the file is staged again with this check per line
-- (sql/ingest/names_per_line.sql: the rejected lines' raw text is kept only by the staging), so the lines
-- loaded and rejected are always those of the plain rule, line by line.
CREATE MACRO ingest_scratch.spelling_reason_1k_line(name_raw, mbid_raw) AS
    CASE WHEN ascii(name_raw) BETWEEN 33 AND 126 THEN NULL
         ELSE ingest_scratch.spelling_reason(name_raw, mbid_raw) END;

-- Events of a 1K file, one row per row DuckDB read (columns in the order of sql/ingest/stage_1k.sql's SELECT).
CREATE TABLE ingest_scratch.stage_checked (
    user_key      VARCHAR,            -- as in the file: trimmed per distinct value by the load
    mbid_text     VARCHAR,            -- as in the file: cast to UUID per distinct spelling by the load
    raw_name      VARCHAR,            -- as in the file: trimmed per distinct spelling by the load
    plays         BIGINT,
    reason        VARCHAR,            -- why the line is rejected, when the line alone says so
    raw           VARCHAR,            -- the line, where the fields above cannot rebuild it
    user_hash     UBIGINT,
    spelling_hash UBIGINT
);

CREATE TABLE ingest_scratch.stage_profiles (
    user_key VARCHAR,
    gender   VARCHAR,
    age      SMALLINT,
    country  VARCHAR,
    signup   DATE,
    reason   VARCHAR,
    raw      VARCHAR
);
