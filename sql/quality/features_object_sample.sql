-- A reproducible sample of $n spectrogram objects to open from the object store.
SELECT kind, track_id, object_key, shape, dtype
FROM track_mel
ORDER BY hash(object_key || $seed::VARCHAR), object_key
LIMIT $n;
