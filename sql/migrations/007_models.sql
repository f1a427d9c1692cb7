-- The model registry (musim.models.registry): every trained model version with its parameters, lineage
-- (feature service, dump, serving snapshot), metrics and status; the test artists it was evaluated on;
-- per-query evaluation values (for paired comparisons); and every promotion decision.
-- Files live in the object store under object_prefix = models/<family>/<version>/ (model.keras,
-- metrics.json, card.md, curves.png).

CREATE TABLE IF NOT EXISTS model_registry (
    version         VARCHAR PRIMARY KEY,              -- '<family>-<seq>', e.g. 'siamese-3'
    family          VARCHAR NOT NULL,                 -- 'siamese', 'cnn_classifier', 'autoencoder'
    seq             INTEGER NOT NULL,                 -- 1, 2, ... per family
    run_id          VARCHAR UNIQUE,                   -- the training run (DAG run, CLI call): registering it again is a no-op
    status          VARCHAR NOT NULL CHECK (status IN ('champion', 'challenger', 'archived')),
    params          JSON NOT NULL,                    -- every hyperparameter (HyperParams.to_json())
    feature_service VARCHAR,                          -- the feature service of its inputs (feature_service.name)
    dump_id         VARCHAR,                          -- the Last.FM dump whose targets it learned
    snapshot_id     VARCHAR,                          -- the serving snapshot / feature as-of it was trained from
    target_metric   VARCHAR NOT NULL,                 -- 'seed', 'jaccard', ...
    test_set_id     VARCHAR NOT NULL,                 -- model_test_artist.test_set_id
    primary_metric  VARCHAR NOT NULL,                 -- the metric promotion compares, e.g. 'ndcg@10'
    metrics         JSON NOT NULL,                    -- {scorer: {metric: {mean, lo, hi, n}}}: the model and baselines
    training        JSON,                             -- data sizes, split, sampling, epochs, seconds, device
    object_prefix   VARCHAR NOT NULL,                 -- models/<family>/<version>/
    created_at      TIMESTAMPTZ NOT NULL,
    status_at       TIMESTAMPTZ NOT NULL,             -- when status last changed
    UNIQUE (family, seq)
);

-- The test artists of an evaluation, by test_set_id (16 hex of sha256 over the sorted ids): two models
-- with the same id were evaluated on the same artists.
CREATE TABLE IF NOT EXISTS model_test_artist (
    test_set_id VARCHAR NOT NULL,
    artist_id   INTEGER NOT NULL,
    PRIMARY KEY (test_set_id, artist_id)
);

-- Per-query values of every scorer of a model's evaluation run ('model' = the model itself; baselines by
-- name; a champion re-scored in the same run by its version): the paired bootstrap reads these.
CREATE TABLE IF NOT EXISTS model_eval_query (
    version   VARCHAR NOT NULL,
    scorer    VARCHAR NOT NULL,
    metric    VARCHAR NOT NULL,
    artist_id INTEGER NOT NULL,                       -- the query artist
    value     DOUBLE,                                 -- NULL where undefined (e.g. nDCG without relevant artists)
    PRIMARY KEY (version, scorer, metric, artist_id)
);

-- Every promotion decision: the challenger, what it was compared with, the paired bootstrap CI of the
-- difference on the primary metric, and the outcome.
CREATE TABLE IF NOT EXISTS model_promotion (
    decided_at  TIMESTAMPTZ NOT NULL,
    family      VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,                     -- the challenger
    against     VARCHAR NOT NULL,                     -- the champion's version, or a baseline ('random') for the first model
    metric      VARCHAR NOT NULL,
    diff        DOUBLE,                               -- mean of (challenger - against) over the same query artists
    lo          DOUBLE,
    hi          DOUBLE,
    n_queries   INTEGER NOT NULL,
    confidence  DOUBLE NOT NULL,
    promoted    BOOLEAN NOT NULL,
    forced      BOOLEAN NOT NULL DEFAULT false,
    reason      VARCHAR NOT NULL,
    PRIMARY KEY (version, decided_at)
);
