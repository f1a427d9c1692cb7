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
    -- empty: whitespace only, by the whitespace of the name's normal form (sql/ingest/load_dump.sql)
    CASE WHEN try_cast(trim(mbid_raw) AS UUID) IS NULL AND regexp_full_match(name_raw, '[\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Zs}\x{2028}\x{2029}]*')
         THEN 'empty artist name and no valid MBID' END;

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
