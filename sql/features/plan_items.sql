-- The distinct audio items the planned run still has to compute (fs_items, made by plan.sql), in id order.
SELECT audio_id, sha256, object_key, whole, offset_s, duration_s, track_ids, extractors
FROM fs_items
ORDER BY audio_id;
