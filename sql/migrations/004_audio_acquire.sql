-- Audio acquisition (musim.acquire.pipeline): the catalogue artists' state with the providers, every
-- preview tried, the source -> object mapping that prevents a second download, the journals applied,
-- and `track`, the table later stages (features, models) read.

-- One row per catalogue artist (the top N by listeners of the published snapshot).
CREATE TABLE acquire_artist (
    artist_id          INTEGER PRIMARY KEY,           -- artist.artist_id
    name               VARCHAR NOT NULL,              -- the name searched (artist.name when planned)
    catalogue_rank     INTEGER,                       -- 1 = most listeners at the last plan
    listeners          BIGINT,
    dump_id            VARCHAR,                       -- the dump whose listeners ranked it
    provider           VARCHAR,                       -- provider that matched (NULL until one did)
    provider_artist_id VARCHAR,
    provider_name      VARCHAR,                       -- the spelling of the name at the provider
    match_score        DOUBLE,                        -- 0..1 (1 for exact)
    match_method       VARCHAR CHECK (match_method IN ('exact', 'fuzzy')),
    status             VARCHAR NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'matched', 'no_match', 'no_preview', 'downloaded', 'rejected', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,    -- runs that ended failed for this artist
    last_error         VARCHAR,
    providers_tried    VARCHAR[] NOT NULL DEFAULT [], -- every provider asked so far (no_match is final for them)
    wanted             INTEGER,                       -- previews asked for at the last fetch
    planned_at         TIMESTAMPTZ,
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per (artist, provider track) ever tried: downloaded, rejected (unusable audio, not stored) or
-- failed (network/provider/storage error; retried while attempts < the maximum).
CREATE TABLE preview (
    track_id           VARCHAR PRIMARY KEY,           -- stable: 16 hex of sha256(artist_id|provider|provider_track_id)
    artist_id          INTEGER NOT NULL,
    provider           VARCHAR NOT NULL,
    provider_track_id  VARCHAR NOT NULL,              -- local provider: the path relative to the music folder
    provider_artist_id VARCHAR,
    title              VARCHAR NOT NULL,
    genre              VARCHAR,
    provider_rank      SMALLINT,                      -- 1 = the most popular track of the artist there
    status             VARCHAR NOT NULL CHECK (status IN ('pending', 'downloaded', 'rejected', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,    -- downloads tried
    last_error         VARCHAR,                       -- the reason of the last rejection or failure
    object_key         VARCHAR,                       -- audio/previews/<sha256>.<ext> (downloaded only)
    sha256             VARCHAR,
    bytes              BIGINT,
    duration_s         DOUBLE,                        -- decoded length of the stored audio
    sample_rate        INTEGER,                       -- native rate of the stored audio (Hz)
    channels           SMALLINT,
    format             VARCHAR,                       -- mp3, m4a, ogg, flac, wav
    track_duration_s   DOUBLE,                        -- length of the whole track as the provider reports it
    excerpt_offset_s   DOUBLE,                        -- analysis window (local whole tracks; previews: whole)
    excerpt_duration_s DOUBLE,
    source_url         VARCHAR,                       -- preview URL or local file path it came from
    source_key         VARCHAR,                       -- preview_source key (URL without signing parameters)
    fetched_at         TIMESTAMPTZ,
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What each source (URL or local file) gave when it was downloaded: a known source whose object is still
-- stored is never downloaded again.
CREATE TABLE preview_source (
    source_key  VARCHAR PRIMARY KEY,
    sha256      VARCHAR NOT NULL,
    object_key  VARCHAR NOT NULL,
    bytes       BIGINT NOT NULL,
    format      VARCHAR NOT NULL,
    duration_s  DOUBLE NOT NULL,
    sample_rate INTEGER NOT NULL,
    channels    SMALLINT,
    fetched_at  TIMESTAMPTZ NOT NULL
);

-- Journals (object store, acquire/journal/...) already applied: a journal is recorded exactly once.
CREATE TABLE acquire_journal (
    journal_key VARCHAR PRIMARY KEY,
    artist_id   INTEGER NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The tracks with stored audio: what feature extraction and the models read. Load the audio with
-- load_audio(store.get_bytes(object_key), offset=excerpt_offset_s, duration=excerpt_duration_s);
-- sha256 keys derived objects (features/mel/<params>/<sha256>.npy).
CREATE TABLE track (
    track_id           VARCHAR PRIMARY KEY,           -- = preview.track_id
    artist_id          INTEGER NOT NULL,
    title              VARCHAR NOT NULL,
    genre              VARCHAR,
    provider           VARCHAR NOT NULL,
    provider_track_id  VARCHAR NOT NULL,
    provider_rank      SMALLINT,
    object_key         VARCHAR NOT NULL,
    sha256             VARCHAR NOT NULL,
    format             VARCHAR NOT NULL,
    duration_s         DOUBLE NOT NULL,
    sample_rate        INTEGER NOT NULL,
    channels           SMALLINT,
    excerpt_offset_s   DOUBLE NOT NULL,               -- 0 for previews
    excerpt_duration_s DOUBLE NOT NULL,               -- the whole preview, or the window of a local track
    added_at           TIMESTAMPTZ NOT NULL
);
