-- The feature store (musim.features): extraction results (tensors in the object store, descriptors here),
-- rejected previews, the registry of feature views and services, materialised scalar/vector features and
-- the extraction runs that produced them. Every value row has created_at: the moment it became available,
-- which is what point-in-time retrieval compares with.

-- Parameter sets by hash (the hash is part of every object key and every feature row).
CREATE TABLE IF NOT EXISTS feature_params (
    params_hash VARCHAR PRIMARY KEY,                  -- MelParams.hash(), SliceParams.hash(), DescriptorParams.hash()
    kind        VARCHAR NOT NULL CHECK (kind IN ('log_mel', 'slices', 'descriptors')),
    params      JSON NOT NULL,                        -- to_dict() of the parameters
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per extraction run (CLI `musim features build` or the audio_features DAG).
CREATE TABLE IF NOT EXISTS feature_build (
    run_id          VARCHAR PRIMARY KEY,
    status          VARCHAR NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    extractors      JSON NOT NULL,                    -- [{"kind", "params_hash"}, ...]
    tracks          BIGINT NOT NULL,                  -- tracks in `track` when planned
    items_planned   BIGINT NOT NULL,                  -- distinct audio to compute
    reused          BIGINT NOT NULL DEFAULT 0,        -- rows copied from identical audio of another track
    computed        BIGINT NOT NULL DEFAULT 0,        -- feature rows written from new computations
    rejected        BIGINT NOT NULL DEFAULT 0,        -- reject rows written
    preview_set     VARCHAR NOT NULL,                 -- 16 hex of sha256 over sorted track_id:sha256 lines
    dump_id         VARCHAR,                          -- latest Last.FM dump when planned (lineage)
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ
);

-- Log-mel tensors (one fixed-size image per track, or its slices) stored as float16 .npy objects:
-- features/mel/<params_hash>/<audio_id>.npy, features/slices/<params_hash>/<audio_id>.npy.
-- audio_id = the preview's sha256, or sha256-<offset_ms>-<duration_ms> for an excerpt of a whole track.
CREATE TABLE IF NOT EXISTS track_mel (
    kind        VARCHAR NOT NULL CHECK (kind IN ('log_mel', 'slices')),
    params_hash VARCHAR NOT NULL,
    track_id    VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    audio_id    VARCHAR NOT NULL,
    object_key  VARCHAR NOT NULL,
    shape       INTEGER[] NOT NULL,                   -- (frames, n_mels) or (n_slices, frames, n_mels)
    dtype       VARCHAR NOT NULL,                     -- float16
    min_db      DOUBLE NOT NULL,
    max_db      DOUBLE NOT NULL,
    bytes       BIGINT NOT NULL,
    run_id      VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, params_hash, track_id, audio_id)
);

-- Handcrafted descriptors (musim.audio.descriptors), in DESCRIPTOR_NAMES order (names in feature_params).
CREATE TABLE IF NOT EXISTS track_descriptors (
    params_hash VARCHAR NOT NULL,
    track_id    VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    audio_id    VARCHAR NOT NULL,
    vec         DOUBLE[] NOT NULL,
    tonic_pc    SMALLINT,                             -- 0 = C ... 11 = B
    key_name    VARCHAR,                              -- e.g. 'A minor'
    run_id      VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (params_hash, track_id, audio_id)
);

-- Previews that gave no feature, with why (undecodable, empty, silent, too short, missing channel: final
-- for that audio and those parameters; 'missing object': retried by the next build).
CREATE TABLE IF NOT EXISTS feature_reject (
    kind        VARCHAR NOT NULL,
    params_hash VARCHAR NOT NULL,
    track_id    VARCHAR NOT NULL,
    sha256      VARCHAR NOT NULL,
    audio_id    VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    detail      VARCHAR,
    run_id      VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, params_hash, track_id, audio_id)
);

-- What extraction has produced, whatever the kind (planning reads it).
CREATE OR REPLACE VIEW feature_done AS
SELECT kind, params_hash, track_id, audio_id, created_at FROM track_mel
UNION ALL
SELECT 'descriptors' AS kind, params_hash, track_id, audio_id, created_at FROM track_descriptors;

-- The registry: feature views, defined in code (musim/features/definitions.py) and applied here. A
-- (name, version) never changes its definition (definition_hash); a change needs a new version.
CREATE TABLE IF NOT EXISTS feature_view (
    name            VARCHAR NOT NULL,
    version         INTEGER NOT NULL,
    entity          VARCHAR NOT NULL CHECK (entity IN ('artist', 'track')),
    kind            VARCHAR NOT NULL CHECK (kind IN ('tensor', 'scalars', 'vector')),
    storage         VARCHAR NOT NULL CHECK (storage IN ('object_store', 'warehouse')),
    schema          JSON NOT NULL,                    -- [{"name", "dtype", "shape"}, ...]
    source          JSON NOT NULL,                    -- {"type": "extract"|"derived"|"push", ...}
    params          JSON,
    params_hash     VARCHAR,
    model_version   VARCHAR,                          -- embeddings: the model that produced them
    description     VARCHAR NOT NULL,
    definition_hash VARCHAR NOT NULL,
    lineage         JSON,                             -- of the last materialisation: run, preview set, dump
    created_at      TIMESTAMPTZ NOT NULL,
    materialised_at TIMESTAMPTZ,
    PRIMARY KEY (name, version)
);

-- Feature services: the exact views (and versions) a model was trained on; immutable once registered.
CREATE TABLE IF NOT EXISTS feature_service (
    name            VARCHAR PRIMARY KEY,
    description     VARCHAR NOT NULL,
    model_version   VARCHAR,
    as_of           TIMESTAMPTZ,                      -- the training set's point in time, when pinned
    definition_hash VARCHAR NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS feature_service_view (
    service      VARCHAR NOT NULL,
    position     SMALLINT NOT NULL,
    view_name    VARCHAR NOT NULL,
    view_version INTEGER NOT NULL,
    PRIMARY KEY (service, view_name)
);

-- Materialised scalar/vector features of views whose source is not a warehouse table of their own
-- (derived aggregates such as artist_descriptors_mean, pushed embeddings). entity_id is the artist id
-- in decimal or the track id. A value is only written when it differs from the entity's latest.
CREATE TABLE IF NOT EXISTS feature_value (
    view_name    VARCHAR NOT NULL,
    view_version INTEGER NOT NULL,
    entity_id    VARCHAR NOT NULL,
    vec          DOUBLE[] NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (view_name, view_version, entity_id, created_at)
);

-- Every materialisation of a view: when, how many rows changed, and its lineage.
CREATE TABLE IF NOT EXISTS feature_materialization (
    view_name    VARCHAR NOT NULL,
    view_version INTEGER NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    entities     BIGINT NOT NULL,                     -- entities with a value after this materialisation
    rows_written BIGINT NOT NULL,                     -- values that changed (new rows)
    lineage      JSON,
    PRIMARY KEY (view_name, view_version, created_at)
);
