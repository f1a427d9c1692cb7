-- Stored excerpts cut by a reader older than $reader (musim.audio.io.READ_WINDOW_VERSION): the next `musim library
-- add` of their files reads them again.
SELECT track_id, source_path FROM library_track
WHERE stored = 'excerpt' AND excerpt_reader < $reader
ORDER BY source_path
