-- Audio-only similarity (musim.models.serve): the nearest artists and tracks by a model's embeddings of
-- the audio, for every artist and track with audio — artists without listening data included (cold
-- start: `cold_start` marks them), so a new artist is placed among the known ones by its sound alone.
-- Written by publish_neighbors for one model version per family (the champion, in the nightly
-- train_siamese DAG; other families through the same function), replaced as a whole for that family,
-- and copied into every serving snapshot (musim.serving). The embeddings themselves are feature views
-- (track_<family>_embedding / artist_<family>_embedding, version = the model's seq, model_version set),
-- materialised in feature_value and published to the online store.

CREATE TABLE IF NOT EXISTS artist_neighbors_audio (
    family        VARCHAR NOT NULL,                   -- 'siamese', 'cnn_classifier', 'autoencoder'
    model_version VARCHAR NOT NULL,                   -- model_registry.version, e.g. 'siamese-3'
    artist_id     INTEGER NOT NULL,                   -- the query artist (any artist with audio)
    rank          SMALLINT NOT NULL,                  -- 1 = most similar
    neighbor_id   INTEGER NOT NULL,
    score         DOUBLE NOT NULL,                    -- higher = more similar (siamese: mean model output over clip pairs, 0..1; others: cosine)
    cold_start    BOOLEAN NOT NULL,                   -- the query artist has no listening data in the latest dump
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_version, artist_id, rank)
);

CREATE TABLE IF NOT EXISTS track_neighbors (
    family            VARCHAR NOT NULL,
    model_version     VARCHAR NOT NULL,
    track_id          VARCHAR NOT NULL,               -- track.track_id
    rank              SMALLINT NOT NULL,
    neighbor_track_id VARCHAR NOT NULL,               -- never a track of the same artist
    score             DOUBLE NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_version, track_id, rank)
);

-- One row per publication: what was embedded, with which model, and where the vectors went.
CREATE TABLE IF NOT EXISTS audio_neighbors_build (
    model_version VARCHAR NOT NULL,
    family        VARCHAR NOT NULL,
    tracks        INTEGER NOT NULL,
    artists       INTEGER NOT NULL,
    cold_start    INTEGER NOT NULL,                   -- artists with audio but no listening data
    k             INTEGER NOT NULL,
    track_view    VARCHAR NOT NULL,                   -- feature view refs of the embeddings ('name:version')
    artist_view   VARCHAR NOT NULL,
    run_id        VARCHAR,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_version, created_at)
);
