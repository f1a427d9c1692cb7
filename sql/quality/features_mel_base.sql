-- The spectrogram rows GX validates row by row.
SELECT kind, params_hash, track_id, sha256, audio_id, object_key, shape, dtype, min_db, max_db, bytes FROM track_mel;
