-- A `musim features build` stopped with Ctrl-C (KeyboardInterrupt, or DuckDB's interrupt of the query it was in)
-- closed its row as 'failed', and `musim features list/show` listed it so: it failed nothing, it was stopped, and
-- what it recorded stays for the next build. It closes as 'interrupted' now, the word the readers already show for a
-- build killed outright (still 'running', no heartbeat past MUSIM_FEATURE_BUILD_TIMEOUT_S: sql/features/builds.sql).
-- feature_build's CHECK (migration 005) lists the statuses, and DuckDB cannot alter a CHECK, so the table is rebuilt:
-- created anew with the longer list (its columns, in their order, with those migrations 013, 015, 029 and 035
-- added), every row copied as it is, the old one dropped and the new one renamed, in this migration's one
-- transaction. No view, index or foreign key refers to feature_build. A build that was stopped before this migration
-- stays 'failed': nothing kept tells it from one that failed.
CREATE TABLE feature_build_interrupted (
    run_id             VARCHAR PRIMARY KEY,
    status             VARCHAR NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    extractors         JSON NOT NULL,                 -- [{"kind", "params_hash"}, ...]
    tracks             BIGINT NOT NULL,               -- tracks in `track` when planned
    items_planned      BIGINT NOT NULL,               -- distinct audio to compute
    reused             BIGINT NOT NULL DEFAULT 0,     -- rows copied from identical audio of another track
    computed           BIGINT NOT NULL DEFAULT 0,     -- feature rows written from new computations
    rejected           BIGINT NOT NULL DEFAULT 0,     -- reject rows written
    preview_set        VARCHAR NOT NULL,              -- 16 hex of sha256 over sorted track_id:sha256 lines
    dump_id            VARCHAR,                       -- latest Last.FM dump when planned (lineage)
    started_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ,
    min_duration_s     DOUBLE,                        -- migration 013
    heartbeat_at       TIMESTAMPTZ,                   -- migration 015
    heartbeat_key      VARCHAR,
    quality_run_id     VARCHAR,                       -- migration 029
    quality_status     VARCHAR,
    quality_checked_at TIMESTAMPTZ,
    unchanged          BIGINT,                        -- migration 035
    skipped            BIGINT
);

INSERT INTO feature_build_interrupted (run_id, status, extractors, tracks, items_planned, reused, computed, rejected,
                                       preview_set, dump_id, started_at, finished_at, min_duration_s, heartbeat_at,
                                       heartbeat_key, quality_run_id, quality_status, quality_checked_at, unchanged,
                                       skipped)
SELECT run_id, status, extractors, tracks, items_planned, reused, computed, rejected, preview_set, dump_id,
       started_at, finished_at, min_duration_s, heartbeat_at, heartbeat_key, quality_run_id, quality_status,
       quality_checked_at, unchanged, skipped
FROM feature_build;

DROP TABLE feature_build;
ALTER TABLE feature_build_interrupted RENAME TO feature_build;
