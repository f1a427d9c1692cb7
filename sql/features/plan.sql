-- Plan an extraction run: every (track, wanted extractor) without a result for the track's audio and
-- without a final rejection. Results of identical audio already computed for another track are copied
-- (same parameters, same audio => same object); what is left is computed. Needs fs_track (tracks.sql) and
-- fs_want(kind, params_hash), the extractors of this run. The tracks of $recompute (musim features build
-- --recompute) are computed again from their audio whatever they hold: nothing is copied for them, and their new
-- rows replace their rows of the same audio (record.sql with $replace).

-- Final rejections: not 'missing object' (retried by every build), and not 'too_short' under a longer
-- threshold than this run's $min_duration_s (a rejection recorded before thresholds were kept stays final).
CREATE OR REPLACE TEMP TABLE fs_final_reject AS
SELECT kind, params_hash, track_id, audio_id, reason, detail, min_duration_s, created_at
FROM feature_reject
WHERE reason <> 'missing object'
  AND NOT (reason = 'too_short' AND coalesce(min_duration_s, 0) > $min_duration_s);

-- A track back on audio whose final rejection is older than a value of the track (other audio: A rejected, then B
-- accepted, then A again) is not examined again, and that rejection alone would leave B's value its newest row: every
-- reader (and the training sets, sql/quality/training_entities.sql) would serve B's values for a track whose audio is
-- A. The rejection is the track's verdict again from now: the old row goes to the history for its moments
-- (feature_superseded, migration 033) and the row is of this run and now, as record.sql does for a rejection
-- recorded again after a value. ($recompute tracks are examined again: record.sql does it for them.)
CREATE OR REPLACE TEMP TABLE fs_back_on_rejected AS
SELECT r.kind, r.params_hash, r.track_id, r.audio_id
FROM fs_final_reject r
JOIN fs_track t ON t.track_id = r.track_id AND t.audio_id = r.audio_id
JOIN fs_want w ON w.kind = r.kind AND w.params_hash = r.params_hash
WHERE NOT list_contains($recompute::VARCHAR[], r.track_id)
  AND EXISTS (SELECT 1 FROM feature_done d WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                                             AND d.track_id = r.track_id AND d.created_at > r.created_at);

INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, run_id, created_at, superseded_at)
SELECT r.kind, r.params_hash, r.track_id, r.sha256, r.audio_id, r.run_id, r.created_at, $now
FROM feature_reject r
JOIN fs_back_on_rejected b
  ON b.kind = r.kind AND b.params_hash = r.params_hash AND b.track_id = r.track_id AND b.audio_id = r.audio_id
ON CONFLICT DO NOTHING;

UPDATE feature_reject SET run_id = $run_id, created_at = $now
FROM fs_back_on_rejected b
WHERE b.kind = feature_reject.kind AND b.params_hash = feature_reject.params_hash
  AND b.track_id = feature_reject.track_id AND b.audio_id = feature_reject.audio_id;

-- A track back on audio it has a value of, after a row of other audio (A computed, then B computed or rejected, then A
-- again: a library file replaced and restored) is not computed again, and B's row stayed its newest: every reader
-- served B's values (or none) for a track whose audio is A. A's value is the track's value again from now: its row goes
-- to the history for its moments (feature_superseded, migration 033) and is current from now, of the build that
-- computed it (not counted reused by this one).
CREATE OR REPLACE TEMP TABLE fs_back_on_value AS
SELECT f.kind, f.params_hash, f.track_id, f.audio_id
FROM feature_done f
JOIN fs_track t ON t.track_id = f.track_id AND t.audio_id = f.audio_id
JOIN fs_want w ON w.kind = f.kind AND w.params_hash = f.params_hash
WHERE EXISTS (SELECT 1 FROM feature_done d WHERE d.kind = f.kind AND d.params_hash = f.params_hash
                                           AND d.track_id = f.track_id AND d.audio_id <> f.audio_id
                                           AND d.created_at > f.created_at)
   OR EXISTS (SELECT 1 FROM feature_reject r WHERE r.kind = f.kind AND r.params_hash = f.params_hash
                                             AND r.track_id = f.track_id AND r.audio_id <> f.audio_id
                                             AND r.created_at > f.created_at);

INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, object_key, run_id, created_at,
                                superseded_at)
SELECT m.kind, m.params_hash, m.track_id, m.sha256, m.audio_id, m.object_key, m.run_id, m.created_at, $now
FROM track_mel m
JOIN fs_back_on_value b
  ON b.kind = m.kind AND b.params_hash = m.params_hash AND b.track_id = m.track_id AND b.audio_id = m.audio_id
ON CONFLICT DO NOTHING;

INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id,
                                created_at, superseded_at)
SELECT 'descriptors', x.params_hash, x.track_id, x.sha256, x.audio_id, x.vec, x.tonic_pc, x.key_name, x.run_id,
       x.created_at, $now
FROM track_descriptors x
JOIN fs_back_on_value b
  ON b.kind = 'descriptors' AND b.params_hash = x.params_hash AND b.track_id = x.track_id AND b.audio_id = x.audio_id
ON CONFLICT DO NOTHING;

UPDATE track_mel SET created_at = $now
FROM fs_back_on_value b
WHERE b.kind = track_mel.kind AND b.params_hash = track_mel.params_hash AND b.track_id = track_mel.track_id
  AND b.audio_id = track_mel.audio_id;

UPDATE track_descriptors SET created_at = $now
FROM fs_back_on_value b
WHERE b.kind = 'descriptors' AND b.params_hash = track_descriptors.params_hash
  AND b.track_id = track_descriptors.track_id AND b.audio_id = track_descriptors.audio_id;

CREATE OR REPLACE TEMP TABLE fs_todo AS
SELECT t.track_id, t.sha256, t.audio_id, t.object_key, t.whole, t.excerpt_offset_s, t.excerpt_duration_s,
       w.kind, w.params_hash
FROM fs_track t CROSS JOIN fs_want w
WHERE list_contains($recompute::VARCHAR[], t.track_id)
   OR (NOT EXISTS (SELECT 1 FROM feature_done d
                   WHERE d.kind = w.kind AND d.params_hash = w.params_hash
                     AND d.track_id = t.track_id AND d.audio_id = t.audio_id)
       AND NOT EXISTS (SELECT 1 FROM fs_final_reject r
                       WHERE r.kind = w.kind AND r.params_hash = w.params_hash
                         AND r.track_id = t.track_id AND r.audio_id = t.audio_id));

INSERT INTO track_mel (kind, params_hash, track_id, sha256, audio_id, object_key, shape, dtype, min_db, max_db,
                       bytes, run_id, created_at)
SELECT td.kind, td.params_hash, td.track_id, td.sha256, td.audio_id,
       arg_max(m.object_key, m.created_at), arg_max(m.shape, m.created_at), arg_max(m.dtype, m.created_at),
       arg_max(m.min_db, m.created_at), arg_max(m.max_db, m.created_at), arg_max(m.bytes, m.created_at),
       $run_id, $now
FROM fs_todo td JOIN track_mel m
  ON m.kind = td.kind AND m.params_hash = td.params_hash AND m.audio_id = td.audio_id
WHERE NOT list_contains($recompute::VARCHAR[], td.track_id)
GROUP BY td.kind, td.params_hash, td.track_id, td.sha256, td.audio_id;

INSERT INTO track_descriptors (params_hash, track_id, sha256, audio_id, vec, tonic_pc, key_name, run_id, created_at)
SELECT td.params_hash, td.track_id, td.sha256, td.audio_id, arg_max(d.vec, d.created_at),
       arg_max(d.tonic_pc, d.created_at), arg_max(d.key_name, d.created_at), $run_id, $now
FROM fs_todo td JOIN track_descriptors d
  ON td.kind = 'descriptors' AND d.params_hash = td.params_hash AND d.audio_id = td.audio_id
WHERE NOT list_contains($recompute::VARCHAR[], td.track_id)
GROUP BY td.params_hash, td.track_id, td.sha256, td.audio_id;

-- A track that holds a rejection of that audio already (not final for this run: 'missing object', a longer
-- 'too_short') has had no value of it since that rejection was made: the copied one keeps its created_at, as a
-- rejection recorded again does (record.sql), so training sets pinned in between still see the track rejected. Unless
-- a value of the track (other audio) came after it: that rejection goes to the history for its moments
-- (feature_superseded, migration 033) and the copied one is of now.
INSERT INTO feature_superseded (kind, params_hash, track_id, sha256, audio_id, run_id, created_at, superseded_at)
SELECT r.kind, r.params_hash, r.track_id, r.sha256, r.audio_id, r.run_id, r.created_at, $now
FROM feature_reject r
WHERE EXISTS (SELECT 1 FROM fs_todo td JOIN fs_final_reject f
                ON f.kind = td.kind AND f.params_hash = td.params_hash AND f.audio_id = td.audio_id
               AND f.track_id <> td.track_id
              WHERE td.kind = r.kind AND td.params_hash = r.params_hash AND td.track_id = r.track_id
                AND td.audio_id = r.audio_id AND NOT list_contains($recompute::VARCHAR[], td.track_id))
  AND EXISTS (SELECT 1 FROM feature_done d WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                                             AND d.track_id = r.track_id AND d.created_at > r.created_at)
ON CONFLICT DO NOTHING;

DELETE FROM feature_reject r
WHERE EXISTS (SELECT 1 FROM fs_todo td JOIN fs_final_reject f
                ON f.kind = td.kind AND f.params_hash = td.params_hash AND f.audio_id = td.audio_id
               AND f.track_id <> td.track_id
              WHERE td.kind = r.kind AND td.params_hash = r.params_hash AND td.track_id = r.track_id
                AND td.audio_id = r.audio_id AND NOT list_contains($recompute::VARCHAR[], td.track_id))
  AND EXISTS (SELECT 1 FROM feature_done d WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                                             AND d.track_id = r.track_id AND d.created_at > r.created_at);

INSERT INTO feature_reject (kind, params_hash, track_id, sha256, audio_id, reason, detail, min_duration_s, run_id,
                            created_at)
SELECT td.kind, td.params_hash, td.track_id, td.sha256, td.audio_id, arg_max(r.reason, r.created_at),
       arg_max(r.detail, r.created_at), arg_max(r.min_duration_s, r.created_at), $run_id, $now
FROM fs_todo td JOIN fs_final_reject r
  ON r.kind = td.kind AND r.params_hash = td.params_hash AND r.audio_id = td.audio_id
 AND r.track_id <> td.track_id
WHERE NOT list_contains($recompute::VARCHAR[], td.track_id)
GROUP BY td.kind, td.params_hash, td.track_id, td.sha256, td.audio_id
ON CONFLICT (kind, params_hash, track_id, audio_id)
DO UPDATE SET reason = excluded.reason, detail = excluded.detail, min_duration_s = excluded.min_duration_s,
              run_id = excluded.run_id;

DELETE FROM fs_todo td
WHERE NOT list_contains($recompute::VARCHAR[], td.track_id)
  AND (EXISTS (SELECT 1 FROM feature_done d
               WHERE d.kind = td.kind AND d.params_hash = td.params_hash
                 AND d.track_id = td.track_id AND d.audio_id = td.audio_id)
       OR EXISTS (SELECT 1 FROM feature_reject r  -- a final rejection just copied from identical audio
                  WHERE r.kind = td.kind AND r.params_hash = td.params_hash AND r.track_id = td.track_id
                    AND r.audio_id = td.audio_id AND r.run_id = $run_id AND r.reason <> 'missing object'));

-- One work item per distinct audio: decoded once, every extractor it still needs, every track it serves.
CREATE OR REPLACE TEMP TABLE fs_items AS
SELECT audio_id, any_value(sha256) AS sha256, min(object_key) AS object_key, bool_and(whole) AS whole,
       any_value(excerpt_offset_s) AS offset_s, any_value(excerpt_duration_s) AS duration_s,
       list(DISTINCT track_id ORDER BY track_id) AS track_ids,
       list(DISTINCT params_hash ORDER BY params_hash) AS extractors
FROM fs_todo
GROUP BY audio_id;
