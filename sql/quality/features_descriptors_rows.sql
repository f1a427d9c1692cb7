-- The descriptor rows GX sees: length, non-finite count, tonic; the bounded descriptors ($bound_index, in
-- DESCRIPTOR_BOUNDS order) of rows of today's layout ($current_params, with their rates $current_sr; NULL for
-- another layout), half their rate, and the longest an excerpt's descriptors can say it lasted (NULL: a whole file).
SELECT b.params_hash, b.track_id, len(b.vec) AS length,
       len(list_filter(b.vec, lambda x: x IS NULL OR NOT isfinite(x))) AS non_finite, b.tonic_pc, b.key_name,
       CASE WHEN c.sr IS NOT NULL THEN list_transform($bound_index, lambda i: b.vec[i]) END AS bounded,
       c.sr / 2.0 AS nyquist_hz,
       CASE WHEN c.sr IS NOT NULL AND b.audio_id LIKE b.sha256 || '-%-%'
            THEN try_cast(split_part(b.audio_id, '-', 3) AS DOUBLE) / 1000 + $window_slack_s END AS window_max_s
FROM q_base b
LEFT JOIN (SELECT unnest($current_params) AS params_hash, unnest($current_sr) AS sr) c USING (params_hash);
