-- Record computed results: fs_in_mel, fs_in_desc and fs_in_reject (registered by musim.features.extract).
-- Rerunning with the same rows changes nothing; a success clears an earlier rejection ('missing object', or
-- 'too_short' under a longer threshold). A rejection keeps the run's threshold (feature_build.min_duration_s).
INSERT INTO track_mel (kind, params_hash, track_id, sha256, audio_id, object_key, shape, dtype, min_db, max_db,
                       bytes, run_id, created_at)
SELECT kind, params_hash, track_id, sha256, audio_id, object_key, shape, dtype, min_db, max_db, bytes,
       $run_id, $now
FROM fs_in_mel
ON CONFLICT DO NOTHING;

INSERT INTO track_descriptors (params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id, created_at)
SELECT params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, $run_id, $now
FROM fs_in_desc
ON CONFLICT DO NOTHING;

DELETE FROM feature_reject r
WHERE EXISTS (SELECT 1 FROM feature_done d
              WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                AND d.track_id = r.track_id AND d.audio_id = r.audio_id);

INSERT INTO feature_reject (kind, params_hash, track_id, sha256, audio_id, reason, detail, min_duration_s, run_id,
                            created_at)
SELECT kind, params_hash, track_id, sha256, audio_id, reason, detail,
       (SELECT min_duration_s FROM feature_build WHERE run_id = $run_id), $run_id, $now
FROM fs_in_reject
ON CONFLICT (kind, params_hash, track_id, audio_id)
DO UPDATE SET reason = excluded.reason, detail = excluded.detail, min_duration_s = excluded.min_duration_s,
              run_id = excluded.run_id, created_at = excluded.created_at;
