-- Examples for sql/quality/features_invariants.sql (at most $limit each). The value checks name the rows readers
-- take (descriptor_rows_read, migration 031), with their audio and the build that wrote them.
(SELECT 'mel_unknown_params' AS check_name, kind || ' ' || track_id || ': params ' || params_hash AS example
 FROM track_mel m WHERE NOT EXISTS (SELECT 1 FROM feature_params p WHERE p.params_hash = m.params_hash) LIMIT $limit)
UNION ALL
(SELECT 'mel_unknown_tracks', kind || ' ' || track_id || ' (' || object_key || ')'
 FROM track_mel m WHERE NOT EXISTS (SELECT 1 FROM track t WHERE t.track_id = m.track_id) LIMIT $limit)
UNION ALL
(SELECT 'mel_audio_mismatches', m.track_id || ': features of ' || m.sha256 || ', track audio ' || t.sha256
 FROM track_mel m JOIN track t USING (track_id)
 WHERE m.sha256 <> t.sha256
   AND NOT EXISTS (SELECT 1 FROM track_audio_history h
                   WHERE h.track_id = m.track_id AND h.sha256 = m.sha256 AND m.created_at <= h.replaced_at)
 LIMIT $limit)
UNION ALL
(SELECT 'mel_bad_shapes', kind || ' ' || track_id || ' shape ' || shape::VARCHAR
 FROM track_mel WHERE len(shape) <> CASE kind WHEN 'log_mel' THEN 2 ELSE 3 END OR list_min(shape) < 1 LIMIT $limit)
UNION ALL
(SELECT 'mel_mixed_shapes', kind || ' params ' || params_hash || ': shapes '
        || list(DISTINCT CASE kind WHEN 'log_mel' THEN shape ELSE shape[2:] END)::VARCHAR
 FROM track_mel GROUP BY kind, params_hash
 HAVING count(DISTINCT CASE kind WHEN 'log_mel' THEN shape ELSE shape[2:] END) > 1 LIMIT $limit)
UNION ALL
(SELECT 'mel_bad_dtypes', track_id || ' dtype ' || dtype FROM track_mel WHERE dtype <> 'float16' LIMIT $limit)
UNION ALL
(SELECT 'mel_bad_db_ranges', track_id || ' dB ' || min_db || '..' || max_db
 FROM track_mel WHERE NOT (isfinite(min_db) AND isfinite(max_db) AND min_db <= max_db) LIMIT $limit)
UNION ALL
(SELECT 'mel_empty_objects', track_id || ' ' || object_key || ' bytes ' || bytes FROM track_mel WHERE bytes <= 0 LIMIT $limit)
UNION ALL
(SELECT 'mel_bad_object_keys', track_id || ' ' || object_key
 FROM track_mel
 WHERE regexp_replace(object_key, '\.[0-9a-f]{64}\.npy$', '.npy')  -- <audio_id>.<sha256 of its bytes>.npy
       <> 'features/' || CASE kind WHEN 'log_mel' THEN 'mel' ELSE 'slices' END || '/'
                     || params_hash || '/' || audio_id || '.npy'
 LIMIT $limit)
UNION ALL
(SELECT 'mel_also_rejected', m.kind || ' ' || m.track_id || ': rejected as ' || r.reason
 FROM track_mel m JOIN feature_reject r USING (kind, params_hash, track_id, audio_id) LIMIT $limit)
UNION ALL
(SELECT 'descriptor_unknown_params', track_id || ': params ' || params_hash
 FROM track_descriptors x WHERE NOT EXISTS (SELECT 1 FROM feature_params p WHERE p.params_hash = x.params_hash) LIMIT $limit)
UNION ALL
(SELECT 'descriptor_unknown_tracks', track_id
 FROM track_descriptors x WHERE NOT EXISTS (SELECT 1 FROM track t WHERE t.track_id = x.track_id) LIMIT $limit)
UNION ALL
(SELECT 'descriptor_audio_mismatches', x.track_id || ': descriptors of ' || x.sha256 || ', track audio ' || t.sha256
 FROM track_descriptors x JOIN track t USING (track_id)
 WHERE x.sha256 <> t.sha256
   AND NOT EXISTS (SELECT 1 FROM track_audio_history h
                   WHERE h.track_id = x.track_id AND h.sha256 = x.sha256 AND x.created_at <= h.replaced_at)
 LIMIT $limit)
UNION ALL
(SELECT 'descriptor_mixed_lengths', 'params ' || params_hash || ': lengths ' || list(DISTINCT len(vec))::VARCHAR
 FROM track_descriptors GROUP BY params_hash HAVING count(DISTINCT len(vec)) > 1 LIMIT $limit)
UNION ALL
-- the first three values that are not finite, by name where the row has today's layout ($descriptor_names)
(SELECT 'descriptor_non_finite',
        track_id || ': ' || CASE WHEN len(vec) = 0 THEN 'empty vector' ELSE
            array_to_string(list_transform(bad[:3], lambda i: coalesce(names[i], 'value') || ' (index ' || i || ') = '
                || CASE WHEN vec[i] IS NULL THEN 'NULL' WHEN isnan(vec[i]) THEN 'NaN' WHEN vec[i] > 0 THEN 'inf'
                        ELSE '-inf' END), ', ')
            || CASE WHEN len(bad) > 3 THEN ', ... (' || len(bad) || ' of ' || len(vec) || ' not finite)' ELSE '' END
        END
        || ' (audio ' || audio_id || ', build ' || run_id || ')'
 FROM (SELECT x.track_id, x.audio_id, x.run_id, x.vec,
              list_filter(range(1, len(x.vec) + 1), lambda i: x.vec[i] IS NULL OR NOT isfinite(x.vec[i])) AS bad,
              CASE WHEN list_contains($current_params, x.params_hash) THEN $descriptor_names END AS names
       FROM descriptor_rows_read(NULL) x)
 WHERE len(vec) = 0 OR len(bad) > 0
 ORDER BY track_id LIMIT $limit)
UNION ALL
-- values outside their bounds (see features_invariants.sql), at most $limit per descriptor
(WITH cur AS (SELECT unnest($current_params) AS params_hash, unnest($current_sr) AS sr),
 bounds AS (SELECT unnest($bound_index) AS i, unnest($bound_lo) AS lo, unnest($bound_lo_open) AS lo_open,
                   unnest($bound_hi) AS hi, unnest($bound_hi_of) AS hi_of),
 ranged AS (
     SELECT x.track_id, x.audio_id, x.run_id, b.i, x.vec[b.i] AS v, b.lo, b.lo_open,
            CASE b.hi_of WHEN 'nyquist' THEN c.sr / 2.0
                         WHEN 'window' THEN CASE WHEN x.audio_id LIKE x.sha256 || '-%-%'
                                                 THEN try_cast(split_part(x.audio_id, '-', 3) AS DOUBLE) / 1000 + b.hi END
                         ELSE b.hi END AS hi
     FROM descriptor_rows_read(NULL) x JOIN cur c USING (params_hash) CROSS JOIN bounds b)
 SELECT 'descriptor_out_of_range',
        track_id || ': ' || $descriptor_names[i] || ' (index ' || i || ') = ' || v || ', outside '
        || CASE WHEN lo_open THEN '(' ELSE '[' END || coalesce(lo::VARCHAR, '-inf') || ', '
        || coalesce(hi::VARCHAR, 'inf') || CASE WHEN hi IS NULL THEN ')' ELSE ']' END
        || ' (audio ' || audio_id || ', build ' || run_id || ')'
 FROM ranged
 WHERE isfinite(v) AND (v < lo OR (lo_open AND v <= lo) OR v > hi)
 QUALIFY row_number() OVER (PARTITION BY i ORDER BY track_id) <= $limit
 ORDER BY i, track_id)
UNION ALL
(SELECT 'descriptor_duplicate_rows',
        track_id || ': ' || count(*) || ' rows of params ' || params_hash || ' made at ' || created_at
        || ' (audio ' || string_agg(audio_id, ', ' ORDER BY audio_id) || ')'
 FROM track_descriptors
 GROUP BY params_hash, track_id, created_at HAVING count(*) > 1
 ORDER BY track_id LIMIT $limit)
UNION ALL
(SELECT 'descriptor_bad_tonic', track_id || ' tonic_pc ' || tonic_pc || ' (audio ' || audio_id || ', build ' || run_id || ')'
 FROM descriptor_rows_read(NULL) x WHERE tonic_pc IS NOT NULL AND tonic_pc NOT BETWEEN 0 AND 11 LIMIT $limit)
UNION ALL
(SELECT 'descriptor_also_rejected', x.track_id || ': rejected as ' || r.reason
 FROM track_descriptors x JOIN feature_reject r ON r.kind = 'descriptors' AND r.params_hash = x.params_hash
      AND r.track_id = x.track_id AND r.audio_id = x.audio_id
 LIMIT $limit);
