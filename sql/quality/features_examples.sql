-- Examples for sql/quality/features_invariants.sql (at most $limit each).
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
 WHERE object_key <> 'features/' || CASE kind WHEN 'log_mel' THEN 'mel' ELSE 'slices' END || '/'
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
(SELECT 'descriptor_non_finite', track_id || ': ' || vec::VARCHAR
 FROM track_descriptors
 WHERE len(vec) = 0 OR len(list_filter(vec, lambda x: x IS NULL OR NOT isfinite(x))) > 0 LIMIT $limit)
UNION ALL
(SELECT 'descriptor_bad_tonic', track_id || ' tonic_pc ' || tonic_pc
 FROM track_descriptors WHERE tonic_pc IS NOT NULL AND tonic_pc NOT BETWEEN 0 AND 11 LIMIT $limit)
UNION ALL
(SELECT 'descriptor_also_rejected', x.track_id || ': rejected as ' || r.reason
 FROM track_descriptors x JOIN feature_reject r ON r.kind = 'descriptors' AND r.params_hash = x.params_hash
      AND r.track_id = x.track_id AND r.audio_id = x.audio_id
 LIMIT $limit);
