SELECT params_hash, track_id, len(vec) AS length,
       len(list_filter(vec, lambda x: x IS NULL OR NOT isfinite(x))) AS non_finite, tonic_pc, key_name
FROM q_base;
