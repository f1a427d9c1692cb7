-- Values a recompute replaced or withdrew, and rejections a later value cleared, with the moment they stopped being
-- current: the history point-in-time reads need (a training set pinned before `musim features build --recompute T`
-- must come back with the values T had then). track_mel, track_descriptors and feature_reject keep one row per
-- track, parameters and audio (the current one, which planning, the features quality gate and the latest reads see);
-- the rows they held before go here, valid from created_at until superseded_at. A recompute that gives the values
-- a track already has writes nothing here (its row keeps its created_at), so repeated recomputes keep one row per
-- change of value. A row with neither object_key nor vec is a rejection (no value from created_at to superseded_at).
-- The readers: sql/features/source_tensor.sql, source_descriptors.sql (point-in-time training sets, online
-- snapshots, the tensor cache) and descriptor_rows_read below.
CREATE TABLE IF NOT EXISTS feature_superseded (
    kind          VARCHAR NOT NULL,                   -- log_mel, slices, descriptors
    params_hash   VARCHAR NOT NULL,
    track_id      VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    audio_id      VARCHAR NOT NULL,
    object_key    VARCHAR,                            -- a tensor's object (log_mel, slices)
    vec           DOUBLE[],                           -- descriptors
    tonic_pc      SMALLINT,
    key_name      VARCHAR,
    run_id        VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,               -- when it became current
    superseded_at TIMESTAMPTZ NOT NULL,               -- when a newer row (a value or a rejection) replaced it
    PRIMARY KEY (kind, params_hash, track_id, audio_id, created_at)
);

-- descriptor_rows_read (migration 031) with that history: at $as_of the rows superseded after it are read as they
-- were; at NULL (every row made so far: the features quality gate) and at now (the latest reads) nothing changes,
-- as every superseded row has ended by then.
CREATE OR REPLACE MACRO descriptor_rows_read(as_of) AS TABLE
SELECT y.* EXCLUDE (newest_, valid_to_)
FROM (SELECT x.*,
             row_number() OVER (PARTITION BY x.params_hash, x.track_id ORDER BY x.created_at DESC) = 1 AS newest_
      FROM (SELECT params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id, created_at,
                   NULL::TIMESTAMPTZ AS valid_to_
            FROM track_descriptors
            UNION ALL
            SELECT params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id, created_at,
                   superseded_at AS valid_to_
            FROM feature_superseded
            WHERE kind = 'descriptors' AND vec IS NOT NULL) x
      WHERE as_of IS NULL OR x.created_at <= as_of) y
WHERE y.newest_
  AND (y.valid_to_ IS NULL OR as_of < y.valid_to_)
  AND NOT EXISTS (SELECT 1
                  FROM (SELECT params_hash, track_id, created_at, NULL::TIMESTAMPTZ AS valid_to
                        FROM feature_reject WHERE kind = 'descriptors'
                        UNION ALL
                        SELECT params_hash, track_id, created_at, superseded_at
                        FROM feature_superseded WHERE kind = 'descriptors' AND vec IS NULL) r
                  WHERE r.params_hash = y.params_hash AND r.track_id = y.track_id
                    AND r.created_at > y.created_at AND (as_of IS NULL OR r.created_at <= as_of)
                    AND (r.valid_to IS NULL OR as_of < r.valid_to));
