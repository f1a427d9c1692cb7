-- The stored objects of the library tracks $ids (a list of track ids).
SELECT DISTINCT object_key FROM library_track WHERE track_id IN (SELECT unnest($ids));
