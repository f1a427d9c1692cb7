-- The Last.FM spine: dumps, users, artists and their spellings, plays, profiles, rejected lines.

-- One row per ingested dump file; dump_id is the sha256 of the file's (decompressed) bytes.
CREATE TABLE lastfm_dump (
    dump_id          VARCHAR PRIMARY KEY,
    seq              INTEGER NOT NULL UNIQUE,        -- ingest order: the latest dump has the highest seq
    file_name        VARCHAR NOT NULL,
    format           VARCHAR NOT NULL CHECK (format IN ('360k', '1k')),
    bytes            BIGINT NOT NULL,
    lines            BIGINT NOT NULL,
    loaded           BIGINT NOT NULL,
    rejected         BIGINT NOT NULL,
    plays_rows       BIGINT NOT NULL,                -- user-artist rows after merging duplicate lines
    users            BIGINT NOT NULL,
    artists          BIGINT NOT NULL,
    profiles_file    VARCHAR,
    profiles_sha256  VARCHAR,
    profile_lines    BIGINT NOT NULL DEFAULT 0,
    profile_loaded   BIGINT NOT NULL DEFAULT 0,
    profile_rejected BIGINT NOT NULL DEFAULT 0,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ NOT NULL,
    CHECK (loaded + rejected = lines)
);

-- Users across dumps: the dump's user key (sha1 in 360K, user_000001 in 1K) mapped to a compact id.
CREATE TABLE lastfm_user (
    user_id  INTEGER PRIMARY KEY,
    user_key VARCHAR NOT NULL UNIQUE
);

-- Artists across dumps. artist_key is 'mbid:<uuid>' where the MBID is valid, else 'name:<normalised>'.
CREATE TABLE artist (
    artist_id      INTEGER PRIMARY KEY,
    artist_key     VARCHAR NOT NULL UNIQUE,
    mbid           UUID,
    name           VARCHAR NOT NULL,                  -- display name: the most used spelling
    name_norm      VARCHAR NOT NULL,                  -- lower-cased, NFC, whitespace collapsed
    is_placeholder BOOLEAN NOT NULL DEFAULT false,    -- '[unknown]', 'various artists': kept, not compared
    first_dump_id  VARCHAR NOT NULL
);

-- Every raw spelling seen for an artist, per dump, with how many lines used it.
CREATE TABLE artist_name_variant (
    artist_id INTEGER NOT NULL,
    raw_name  VARCHAR NOT NULL,
    dump_id   VARCHAR NOT NULL,
    lines     BIGINT NOT NULL,
    PRIMARY KEY (artist_id, raw_name, dump_id)
);

-- User-artist play counts per dump (duplicate lines merged: plays summed, lines counted).
CREATE TABLE lastfm_plays (
    dump_id   VARCHAR NOT NULL,
    user_id   INTEGER NOT NULL,
    artist_id INTEGER NOT NULL,
    plays     BIGINT NOT NULL,
    lines     INTEGER NOT NULL
);

CREATE TABLE lastfm_profile (
    dump_id VARCHAR NOT NULL,
    user_id INTEGER NOT NULL,
    gender  VARCHAR,
    age     SMALLINT,
    country VARCHAR,
    signup  DATE,
    PRIMARY KEY (dump_id, user_id)
);

-- Every line that was not loaded, with why. loaded + rejected = lines, per file.
CREATE TABLE ingest_rejects (
    dump_id   VARCHAR NOT NULL,
    file_kind VARCHAR NOT NULL,                      -- 'plays' | 'profiles' | 'events'
    line_no   BIGINT NOT NULL,                       -- 1-based physical line ('\n'-separated)
    raw       VARCHAR NOT NULL,                      -- the line; invalid bytes shown as \xNN
    reason    VARCHAR NOT NULL
);
