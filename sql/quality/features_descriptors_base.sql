-- The descriptor rows GX validates row by row: the rows readers take (descriptor_rows_read, migration 031: each
-- track's newest row per parameter set unless a newer rejection withdrew it; readers read through it too).
-- Rows a re-read or a recompute superseded are not read and do not block the gate.
SELECT params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name
FROM descriptor_rows_read(NULL);
