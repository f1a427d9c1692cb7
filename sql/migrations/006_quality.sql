-- Data-quality results (musim.quality): one row per dataset per quality run, what the DAG gates and
-- `musim quality check` recorded. failures holds every failed expectation with example bad values:
-- [{"part", "expectation", "columns", "description", "kwargs", "unexpected_count", "element_count",
--   "observed", "examples", "exception"}, ...]; details the coverage of each part (all rows in SQL, all rows
-- or a sample in GX) and why a dataset was skipped.
CREATE TABLE IF NOT EXISTS quality_result (
    run_id         VARCHAR NOT NULL,                  -- q<UTC time>-<6 hex>: one run = one Data Docs site
    dataset        VARCHAR NOT NULL,                  -- suite name: lastfm_plays, similarity, previews, ...
    dump_id        VARCHAR,                           -- the Last.FM dump checked (dump-scoped datasets)
    version        VARCHAR,                           -- another version the dataset is keyed by (params, run)
    status         VARCHAR NOT NULL CHECK (status IN ('passed', 'failed', 'skipped')),
    success        BOOLEAN NOT NULL,                  -- status <> 'failed'
    expectations   INTEGER NOT NULL,                  -- expectations evaluated
    failed         INTEGER NOT NULL,                  -- of which failed
    rows_total     BIGINT,                            -- rows of the dataset (every one is in the SQL invariants)
    rows_validated BIGINT NOT NULL,                   -- rows GX validated one by one (all, or a sample)
    sampled        BOOLEAN NOT NULL,                  -- GX's row-level pass saw a sample only
    failures       JSON NOT NULL,
    details        JSON,
    docs_url       VARCHAR,                           -- the run's Data Docs index in the object store
    seconds        DOUBLE NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, dataset)
);
