-- Staging tables for one chunk of journals (filled by musim.warehouse.fill).
CREATE OR REPLACE TEMP TABLE journal_artists (
    artist_id INTEGER, name VARCHAR, resolve_status VARCHAR, wanted INTEGER, providers_tried VARCHAR[],
    provider VARCHAR, provider_artist_id VARCHAR, provider_name VARCHAR, match_score DOUBLE,
    match_method VARCHAR, error VARCHAR, journal_key VARCHAR
);
CREATE OR REPLACE TEMP TABLE journal_previews (
    artist_id INTEGER, track_id VARCHAR, provider VARCHAR, provider_track_id VARCHAR,
    provider_artist_id VARCHAR, title VARCHAR, genre VARCHAR, provider_rank SMALLINT, status VARCHAR,
    attempts INTEGER, reused BOOLEAN, error VARCHAR, object_key VARCHAR, sha256 VARCHAR, bytes BIGINT,
    duration_s DOUBLE, sample_rate INTEGER, channels SMALLINT, format VARCHAR, track_duration_s DOUBLE,
    excerpt_offset_s DOUBLE, excerpt_duration_s DOUBLE, source_url VARCHAR, source_key VARCHAR,
    fetched_at TIMESTAMPTZ
);
