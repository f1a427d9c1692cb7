-- A reproducible sample of $n spectrogram objects to open from the object store, with the audio and the build that
-- wrote each (a failure's examples name them, as the descriptor rows' do).
SELECT kind, track_id, object_key, shape, dtype, audio_id, run_id
FROM track_mel
ORDER BY hash(object_key || $seed::VARCHAR), object_key
LIMIT $n;
