-- The tracks of fs_in_reject (a batch being recorded) whose preview was missing from the object store ('missing
-- object') while they hold a value of that audio: nothing was computed again for them and their rows stay
-- (record.sql); one row per track with the missing object's detail.
SELECT r.track_id, any_value(r.detail)
FROM fs_in_reject r
WHERE r.reason = 'missing object'
  AND EXISTS (SELECT 1 FROM feature_done d WHERE d.kind = r.kind AND d.params_hash = r.params_hash
                                             AND d.track_id = r.track_id AND d.audio_id = r.audio_id)
GROUP BY r.track_id
ORDER BY r.track_id;
