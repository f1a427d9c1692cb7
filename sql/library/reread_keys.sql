-- The objects the tracks of lib_reread point at before their excerpts read again are recorded (deleted after,
-- where no track uses them any more).
SELECT DISTINCT t.object_key FROM library_track t JOIN lib_reread r USING (track_id) WHERE t.object_key <> r.object_key;
