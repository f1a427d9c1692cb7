-- The descriptor rows GX validates row by row.
SELECT params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name FROM track_descriptors;
