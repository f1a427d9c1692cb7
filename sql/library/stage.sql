-- Staging tables of one `musim library add` (filled by musim.warehouse.fill).
CREATE OR REPLACE TEMP TABLE lib_artists (
    artist_id INTEGER, name VARCHAR, mbid VARCHAR, lastfm_match VARCHAR, spellings VARCHAR[], name_keys VARCHAR[],
    is_new BOOLEAN, artist_key VARCHAR, name_norm VARCHAR, is_placeholder BOOLEAN
);
CREATE OR REPLACE TEMP TABLE lib_tracks (
    track_id VARCHAR, artist_id INTEGER, name_key VARCHAR, artist_spelling VARCHAR, artist_rule VARCHAR,
    title VARCHAR, album VARCHAR, genre VARCHAR, tracknumber INTEGER, source_path VARCHAR, source_sha256 VARCHAR,
    source_bytes BIGINT, source_format VARCHAR, duration_s DOUBLE, excerpt_offset_s DOUBLE,
    excerpt_duration_s DOUBLE, stored VARCHAR, object_key VARCHAR, sha256 VARCHAR, object_bytes BIGINT,
    object_format VARCHAR, object_duration_s DOUBLE, object_offset_s DOUBLE, object_window_s DOUBLE,
    sample_rate INTEGER, channels SMALLINT, excerpt_reader SMALLINT
);
CREATE OR REPLACE TEMP TABLE lib_skips (
    source_path VARCHAR, source_sha256 VARCHAR, reason VARCHAR, detail VARCHAR
);
-- Stored files found at a new path; the artist fields are set where the folder rules named it again there.
CREATE OR REPLACE TEMP TABLE lib_moved (
    source_sha256 VARCHAR, source_path VARCHAR, artist_spelling VARCHAR, artist_rule VARCHAR, name_key VARCHAR
);
CREATE OR REPLACE TEMP TABLE lib_regrouped (track_id VARCHAR, artist_id INTEGER);
-- Excerpts of unchanged files read again (an older reader cut them): the object each track points at now.
-- A chained file's window was chosen again, in its whole length (duration_s): the window of every row is its own.
CREATE OR REPLACE TEMP TABLE lib_reread (
    track_id VARCHAR, object_key VARCHAR, sha256 VARCHAR, object_bytes BIGINT, excerpt_reader SMALLINT,
    duration_s DOUBLE, excerpt_offset_s DOUBLE, excerpt_duration_s DOUBLE
);
-- Stored excerpts an older reader cut as the current one cuts them (version 2 of a file found not chained): marked
-- current, not read again.
CREATE OR REPLACE TEMP TABLE lib_current (track_id VARCHAR, excerpt_reader SMALLINT);
-- Chained files stored whole whose length version 2 measured in their first stream: their whole length, measured again.
CREATE OR REPLACE TEMP TABLE lib_length (track_id VARCHAR, duration_s DOUBLE);
-- The paths of the files found already stored (a skip an earlier scan recorded at one goes: a file once taken for a
-- copy of itself through a link to its folder).
CREATE OR REPLACE TEMP TABLE lib_unskipped (source_path VARCHAR);
