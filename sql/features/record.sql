-- Record computed results: fs_in_mel, fs_in_desc and fs_in_reject (registered by musim.features.extract).
-- Rerunning with the same rows changes nothing; a success clears an earlier rejection ('missing object', or
-- 'too_short' under a longer threshold). A rejection keeps the run's threshold (feature_build.min_duration_s).
-- With $replace (a build that recomputes named tracks: musim features build --recompute) a new row replaces the
-- row of the same track, parameters and audio (its values, its build, when it was made: see below), and a new rejection
-- replaces a value of the same audio. 'missing object' is no verdict on the audio (its preview was not in the object
-- store: nothing was computed): it neither replaces nor withdraws a value of the same audio, and is not recorded for
-- a track that holds one (musim.features.extract.record warns about those).
-- What readers saw before stays readable as of its time (feature_superseded, migration 033): a value a recompute
-- withdraws or replaces with another goes there first, and so does a rejection a value clears; a new value equal to
-- the row it replaces keeps that row's created_at (it was the value since then) and its build (run_id: the build that
-- wrote the value; this one only found it again, and counts it unchanged, not computed: unchanged.sql), and a
-- rejection recorded again keeps its first created_at (the track had no value since then): a recompute that changes
-- nothing adds no history. A tensor row is equal when its object and everything stored of it are: its object key
-- names the audio, the parameters and the sha256 of its bytes (musim.features.params.Extractor.object_key), so other
-- values never go under the key of a row they replace (a log-mel's shape, dB range and size are those of any other:
-- it is normalised); an old row whose key names no digest has the new key when its bytes are equal
-- (musim.features.extract.record reads them).
INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, object_key, run_id, created_at,
                                superseded_at)
SELECT m.kind, m.params_hash, m.track_id, m.sha256, m.audio_id, m.object_key, m.run_id, m.created_at, $now
FROM track_mel m
WHERE $replace
  AND (EXISTS (SELECT 1 FROM fs_in_reject r WHERE r.kind = m.kind AND r.params_hash = m.params_hash
                                             AND r.track_id = m.track_id AND r.audio_id = m.audio_id
                                             AND r.reason <> 'missing object')
       OR EXISTS (SELECT 1 FROM fs_in_mel i WHERE i.kind = m.kind AND i.params_hash = m.params_hash
                                             AND i.track_id = m.track_id AND i.audio_id = m.audio_id
                                             AND (i.object_key, i.shape, i.dtype, i.min_db, i.max_db, i.bytes)
                                                 IS DISTINCT FROM (m.object_key, m.shape, m.dtype, m.min_db, m.max_db,
                                                                   m.bytes)))
ON CONFLICT DO NOTHING;

INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id,
                                created_at, superseded_at)
SELECT 'descriptors', x.params_hash, x.track_id, x.sha256, x.audio_id, x.vec, x.tonic_pc, x.key_name, x.run_id,
       x.created_at, $now
FROM track_descriptors x
WHERE $replace
  AND (EXISTS (SELECT 1 FROM fs_in_reject r WHERE r.kind = 'descriptors' AND r.params_hash = x.params_hash
                                             AND r.track_id = x.track_id AND r.audio_id = x.audio_id
                                             AND r.reason <> 'missing object')
       OR EXISTS (SELECT 1 FROM fs_in_desc i WHERE i.params_hash = x.params_hash AND i.track_id = x.track_id
                                              AND i.audio_id = x.audio_id
                                              AND (i.vec IS DISTINCT FROM x.vec OR i.tonic_pc IS DISTINCT FROM x.tonic_pc
                                                   OR i.key_name IS DISTINCT FROM x.key_name)))
ON CONFLICT DO NOTHING;

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
                          bytes = excluded.bytes,
                          run_id = CASE WHEN (track_mel.object_key, track_mel.shape, track_mel.dtype, track_mel.min_db,
                                              track_mel.max_db, track_mel.bytes)
                                             IS NOT DISTINCT FROM (excluded.object_key, excluded.shape, excluded.dtype,
                                                                   excluded.min_db, excluded.max_db, excluded.bytes)
                                        THEN track_mel.run_id ELSE excluded.run_id END,
                          created_at = CASE WHEN (track_mel.object_key, track_mel.shape, track_mel.dtype,
                                                  track_mel.min_db, track_mel.max_db, track_mel.bytes)
                                                 IS NOT DISTINCT FROM (excluded.object_key, excluded.shape,
                                                                       excluded.dtype, excluded.min_db, excluded.max_db,
                                                                       excluded.bytes)
                                            THEN track_mel.created_at ELSE excluded.created_at END
WHERE $replace;

INSERT INTO track_descriptors (params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id, created_at)
SELECT params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, $run_id, $now
FROM fs_in_desc
ON CONFLICT DO UPDATE SET sha256 = excluded.sha256, vec = excluded.vec, tonic_pc = excluded.tonic_pc,
                          key_name = excluded.key_name,
                          run_id = CASE WHEN track_descriptors.vec IS NOT DISTINCT FROM excluded.vec
                                         AND track_descriptors.tonic_pc IS NOT DISTINCT FROM excluded.tonic_pc
                                         AND track_descriptors.key_name IS NOT DISTINCT FROM excluded.key_name
                                        THEN track_descriptors.run_id ELSE excluded.run_id END,
                          created_at = CASE WHEN track_descriptors.vec IS NOT DISTINCT FROM excluded.vec
                                             AND track_descriptors.tonic_pc IS NOT DISTINCT FROM excluded.tonic_pc
                                             AND track_descriptors.key_name IS NOT DISTINCT FROM excluded.key_name
                                            THEN track_descriptors.created_at ELSE excluded.created_at END
WHERE $replace;

INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, run_id, created_at, superseded_at)
SELECT r.kind, r.params_hash, r.track_id, r.sha256, r.audio_id, r.run_id, r.created_at, $now
FROM feature_reject r
WHERE EXISTS (SELECT 1 FROM feature_done d
              WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                AND d.track_id = r.track_id AND d.audio_id = r.audio_id)
ON CONFLICT DO NOTHING;

DELETE FROM feature_reject r
WHERE EXISTS (SELECT 1 FROM feature_done d
              WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                AND d.track_id = r.track_id AND d.audio_id = r.audio_id);

-- A rejection recorded again keeps its first created_at only while it is still the track's latest row: when a value
-- of the track (other audio: A rejected, then B accepted, then A again) came after it, that moment would leave the
-- value current; the old rejection goes to the history for its moments and the new one is of now.
INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, run_id, created_at, superseded_at)
SELECT r.kind, r.params_hash, r.track_id, r.sha256, r.audio_id, r.run_id, r.created_at, $now
FROM feature_reject r
WHERE EXISTS (SELECT 1 FROM fs_in_reject i WHERE i.kind = r.kind AND i.params_hash = r.params_hash
                                            AND i.track_id = r.track_id AND i.audio_id = r.audio_id)
  AND EXISTS (SELECT 1 FROM feature_done d WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                                             AND d.track_id = r.track_id AND d.created_at > r.created_at)
ON CONFLICT DO NOTHING;

DELETE FROM feature_reject r
WHERE EXISTS (SELECT 1 FROM fs_in_reject i WHERE i.kind = r.kind AND i.params_hash = r.params_hash
                                            AND i.track_id = r.track_id AND i.audio_id = r.audio_id)
  AND EXISTS (SELECT 1 FROM feature_done d WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                                             AND d.track_id = r.track_id AND d.created_at > r.created_at);

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
              run_id = excluded.run_id;
