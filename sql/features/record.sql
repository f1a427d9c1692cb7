-- Record computed results: fs_in_mel, fs_in_desc and fs_in_reject (registered by musim.features.extract).
-- Rerunning with the same rows changes nothing; a success clears an earlier rejection ('missing object', or
-- 'too_short' under a longer threshold). A rejection keeps the run's threshold (feature_build.min_duration_s).
-- With $replace (a build that recomputes named tracks: musim features build --recompute) a new row replaces the
-- row of the same track, parameters and audio (its values, its build, when it was made), and a new rejection
-- replaces a value of the same audio. 'missing object' is no verdict on the audio (its preview was not in the object
-- store: nothing was computed): it neither replaces nor withdraws a value of the same audio, and is not recorded for
-- a track that holds one (musim.features.extract.record warns about those).
DELETE FROM track_mel m
WHERE $replace AND EXISTS (SELECT 1 FROM fs_in_reject r WHERE r.kind = m.kind AND r.params_hash = m.params_hash
                                                        AND r.track_id = m.track_id AND r.audio_id = m.audio_id
                                                        AND r.reason <> 'missing object');

DELETE FROM track_descriptors x
WHERE $replace AND EXISTS (SELECT 1 FROM fs_in_reject r WHERE r.kind = 'descriptors' AND r.params_hash = x.params_hash
                                                        AND r.track_id = x.track_id AND r.audio_id = x.audio_id
                                                        AND r.reason <> 'missing object');

INSERT INTO track_mel (kind, params_hash, track_id, sha256, audio_id, object_key, shape, dtype, min_db, max_db,
                       bytes, run_id, created_at)
SELECT kind, params_hash, track_id, sha256, audio_id, object_key, shape, dtype, min_db, max_db, bytes,
       $run_id, $now
FROM fs_in_mel
ON CONFLICT DO UPDATE SET sha256 = excluded.sha256, object_key = excluded.object_key, shape = excluded.shape,
                          dtype = excluded.dtype, min_db = excluded.min_db, max_db = excluded.max_db,
                          bytes = excluded.bytes, run_id = excluded.run_id, created_at = excluded.created_at
WHERE $replace;

INSERT INTO track_descriptors (params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id, created_at)
SELECT params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, $run_id, $now
FROM fs_in_desc
ON CONFLICT DO UPDATE SET sha256 = excluded.sha256, vec = excluded.vec, tonic_pc = excluded.tonic_pc,
                          key_name = excluded.key_name, run_id = excluded.run_id, created_at = excluded.created_at
WHERE $replace;

DELETE FROM feature_reject r
WHERE EXISTS (SELECT 1 FROM feature_done d
              WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                AND d.track_id = r.track_id AND d.audio_id = r.audio_id);

INSERT INTO feature_reject (kind, params_hash, track_id, sha256, audio_id, reason, detail, min_duration_s, run_id,
                            created_at)
SELECT kind, params_hash, track_id, sha256, audio_id, reason, detail,
       (SELECT min_duration_s FROM feature_build WHERE run_id = $run_id), $run_id, $now
FROM fs_in_reject i
WHERE NOT (reason = 'missing object'
           AND EXISTS (SELECT 1 FROM feature_done d WHERE d.kind = i.kind AND d.params_hash = i.params_hash
                                                      AND d.track_id = i.track_id AND d.audio_id = i.audio_id))
ON CONFLICT (kind, params_hash, track_id, audio_id)
DO UPDATE SET reason = excluded.reason, detail = excluded.detail, min_duration_s = excluded.min_duration_s,
              run_id = excluded.run_id, created_at = excluded.created_at;
