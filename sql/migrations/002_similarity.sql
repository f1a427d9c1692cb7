-- Co-listening similarity, versioned per dump: one build per dump (a rebuild replaces it atomically).

CREATE TABLE similarity_build (
    dump_id          VARCHAR PRIMARY KEY,
    min_listeners    INTEGER NOT NULL,
    min_co_listeners INTEGER NOT NULL,
    k                INTEGER NOT NULL,
    users            BIGINT NOT NULL,     -- U: users with at least one play in the dump
    artists          BIGINT NOT NULL,     -- artists with >= min_listeners listeners
    pairs            BIGINT NOT NULL,     -- unordered pairs with >= min_co_listeners co-listeners
    seed_raw_max     DOUBLE,              -- the max of the seed metric's raw score (its 0..1 scale)
    catalogue_size   INTEGER NOT NULL,    -- artists in artist_pair_similarity (top by listeners)
    built_at         TIMESTAMPTZ NOT NULL,
    seconds          DOUBLE NOT NULL
);

-- Listeners (users with plays > 0) and total plays per artist and dump.
CREATE TABLE artist_listeners (
    dump_id   VARCHAR NOT NULL,
    artist_id INTEGER NOT NULL,
    listeners BIGINT NOT NULL,
    plays     BIGINT NOT NULL,
    PRIMARY KEY (dump_id, artist_id)
);

-- The top-K neighbours of every eligible artist, for every metric; rank 1 = most similar.
CREATE TABLE artist_neighbors (
    dump_id      VARCHAR NOT NULL,
    metric       VARCHAR NOT NULL CHECK (metric IN ('seed', 'jaccard', 'cosine', 'lift', 'pmi')),
    artist_id    INTEGER NOT NULL,
    rank         SMALLINT NOT NULL,
    neighbor_id  INTEGER NOT NULL,
    score        DOUBLE NOT NULL,
    co_listeners INTEGER NOT NULL
);

-- Every pair (a < b) with at least one co-listener among the catalogue artists (the top artists by
-- listeners, those that will have audio): the training targets. A missing pair has no co-listeners.
CREATE TABLE artist_pair_similarity (
    dump_id      VARCHAR NOT NULL,
    artist_a     INTEGER NOT NULL,
    artist_b     INTEGER NOT NULL,
    co_listeners INTEGER NOT NULL,
    seed         DOUBLE NOT NULL,
    jaccard      DOUBLE NOT NULL,
    cosine       DOUBLE NOT NULL,
    lift         DOUBLE NOT NULL,
    pmi          DOUBLE NOT NULL,
    CHECK (artist_a < artist_b)
);
