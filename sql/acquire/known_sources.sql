-- Every source downloaded so far and the object it gave (the URL -> sha256 mapping): fetch reuses a stored
-- object instead of downloading its source again.
SELECT source_key, sha256, object_key, bytes, format, duration_s, sample_rate, channels
FROM preview_source
ORDER BY source_key
