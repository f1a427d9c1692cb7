-- Whole-table facts of extracted features (migration 005), over every row, as one row (features).
-- Spectrograms: known parameters and track, the track's audio (sha256) when the row was made (its current one, or
-- one it used until after the row was made: track_audio_history, migration 027), a sane shape of one size per
-- parameter set, float16, finite dB range, the content key; descriptors: one vector length per parameter
-- set, finite values, a valid tonic, the bounded descriptors of rows of today's layout within their bounds
-- (musim.quality.suites.features.DESCRIPTOR_BOUNDS: $bound_* by 1-based vector index; $current_params with their
-- rates $current_sr), one row per (parameters, track, created_at): the row a point-in-time read takes.
-- Nothing is both extracted and rejected.
-- Values (finite, within bounds, a valid tonic) are checked on the rows readers take (`cur_rows`:
-- descriptor_rows_read, migration 031, the one definition readers use too); rows a re-read or a recompute
-- superseded are not read and do not block.
WITH mel AS (
    SELECT m.*, t.sha256 AS track_sha256, t.track_id IS NOT NULL AS known_track,
           p.params_hash IS NOT NULL AS known_params,
           m.sha256 = t.sha256 OR EXISTS (SELECT 1 FROM track_audio_history h WHERE h.track_id = m.track_id
                                            AND h.sha256 = m.sha256 AND m.created_at <= h.replaced_at) AS of_track_audio
    FROM track_mel m
    LEFT JOIN track t USING (track_id)
    LEFT JOIN feature_params p USING (params_hash)
),
d AS (
    SELECT x.*, t.sha256 AS track_sha256, t.track_id IS NOT NULL AS known_track,
           p.params_hash IS NOT NULL AS known_params,
           x.sha256 = t.sha256 OR EXISTS (SELECT 1 FROM track_audio_history h WHERE h.track_id = x.track_id
                                            AND h.sha256 = x.sha256 AND x.created_at <= h.replaced_at) AS of_track_audio
    FROM track_descriptors x
    LEFT JOIN track t USING (track_id)
    LEFT JOIN feature_params p USING (params_hash)
),
cur AS (SELECT unnest($current_params) AS params_hash, unnest($current_sr) AS sr),
cur_rows AS (SELECT * FROM descriptor_rows_read(NULL)),
bounds AS (SELECT unnest($bound_index) AS i, unnest($bound_lo) AS lo, unnest($bound_lo_open) AS lo_open,
                  unnest($bound_hi) AS hi, unnest($bound_hi_of) AS hi_of),
ranged AS (
    SELECT x.params_hash, x.track_id, x.audio_id, x.vec[b.i] AS v, b.lo, b.lo_open,
           CASE b.hi_of WHEN 'nyquist' THEN c.sr / 2.0
                        WHEN 'window' THEN CASE WHEN x.audio_id LIKE x.sha256 || '-%-%'
                                                THEN try_cast(split_part(x.audio_id, '-', 3) AS DOUBLE) / 1000 + b.hi END
                        ELSE b.hi END AS hi
    FROM cur_rows x JOIN cur c USING (params_hash) CROSS JOIN bounds b
)
SELECT
    (SELECT count(*) FROM mel) AS spectrograms,
    (SELECT count(*) FROM d) AS descriptor_rows,
    (SELECT count(*) FROM mel WHERE NOT known_params) AS mel_unknown_params,
    (SELECT count(*) FROM mel WHERE NOT known_track) AS mel_unknown_tracks,
    (SELECT count(*) FROM mel WHERE known_track AND NOT of_track_audio) AS mel_audio_mismatches,
    (SELECT count(*) FROM mel
     WHERE len(shape) <> CASE kind WHEN 'log_mel' THEN 2 ELSE 3 END OR list_min(shape) < 1) AS mel_bad_shapes,
    (SELECT count(*) FROM (
        SELECT kind, params_hash FROM mel
        GROUP BY kind, params_hash
        HAVING count(DISTINCT CASE kind WHEN 'log_mel' THEN shape ELSE shape[2:] END) > 1)) AS mel_mixed_shapes,
    (SELECT count(*) FROM mel WHERE dtype <> 'float16') AS mel_bad_dtypes,
    (SELECT count(*) FROM mel WHERE NOT (isfinite(min_db) AND isfinite(max_db) AND min_db <= max_db)) AS mel_bad_db_ranges,
    (SELECT count(*) FROM mel WHERE bytes <= 0) AS mel_empty_objects,
    (SELECT count(*) FROM mel
     WHERE regexp_replace(object_key, '\.[0-9a-f]{64}\.npy$', '.npy')  -- <audio_id>.<sha256 of its bytes>.npy
           <> 'features/' || CASE kind WHEN 'log_mel' THEN 'mel' ELSE 'slices' END || '/'
                         || params_hash || '/' || audio_id || '.npy') AS mel_bad_object_keys,
    (SELECT count(*) FROM mel m
     WHERE EXISTS (SELECT 1 FROM feature_reject r WHERE r.kind = m.kind AND r.params_hash = m.params_hash
                   AND r.track_id = m.track_id AND r.audio_id = m.audio_id)) AS mel_also_rejected,
    (SELECT count(*) FROM d WHERE NOT known_params) AS descriptor_unknown_params,
    (SELECT count(*) FROM d WHERE NOT known_track) AS descriptor_unknown_tracks,
    (SELECT count(*) FROM d WHERE known_track AND NOT of_track_audio) AS descriptor_audio_mismatches,
    (SELECT count(*) FROM (SELECT params_hash FROM d GROUP BY params_hash HAVING count(DISTINCT len(vec)) > 1))
        AS descriptor_mixed_lengths,
    (SELECT count(*) FROM cur_rows WHERE len(vec) = 0 OR len(list_filter(vec, lambda x: x IS NULL OR NOT isfinite(x))) > 0)
        AS descriptor_non_finite,
    (SELECT count(*) FROM (SELECT DISTINCT params_hash, track_id, audio_id FROM ranged
                           WHERE isfinite(v) AND (v < lo OR (lo_open AND v <= lo) OR v > hi))) AS descriptor_out_of_range,
    (SELECT count(*) FROM (SELECT params_hash, track_id, created_at FROM d
                           GROUP BY params_hash, track_id, created_at HAVING count(*) > 1)) AS descriptor_duplicate_rows,
    (SELECT count(*) FROM cur_rows WHERE tonic_pc IS NOT NULL AND tonic_pc NOT BETWEEN 0 AND 11) AS descriptor_bad_tonic,
    (SELECT count(*) FROM d x
     WHERE EXISTS (SELECT 1 FROM feature_reject r WHERE r.kind = 'descriptors' AND r.params_hash = x.params_hash
                   AND r.track_id = x.track_id AND r.audio_id = x.audio_id)) AS descriptor_also_rejected;
