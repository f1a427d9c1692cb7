-- The tensor rows of fs_in_mel (a batch recorded with $replace: musim features build --recompute) that replace a row
-- whose object key holds no digest (made before keys named their content, musim.features.params.Extractor.object_key):
-- the row's (kind, params_hash, track_id), its new key and the old one. Their keys differ whatever the values;
-- musim.features.extract.record compares the bytes.
SELECT i.kind, i.params_hash, i.track_id, i.object_key AS new_key, m.object_key AS old_key
FROM fs_in_mel i JOIN track_mel m
  ON m.kind = i.kind AND m.params_hash = i.params_hash AND m.track_id = i.track_id AND m.audio_id = i.audio_id
WHERE $replace AND i.object_key <> m.object_key AND NOT regexp_matches(m.object_key, '\.[0-9a-f]{64}\.npy$')
ORDER BY old_key, i.kind, i.params_hash, i.track_id;
