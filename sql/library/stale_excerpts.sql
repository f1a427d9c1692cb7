-- Stored excerpts cut by a reader older than $reader (musim.library.known.FIRST_STREAM_ONLY: version 2's excerpts
-- differ from today's only for a chained file, which the next `musim library add` of it finds): the next `musim library
-- add` of their files reads them again.
SELECT track_id, source_path FROM library_track
WHERE stored = 'excerpt' AND excerpt_reader < $reader
ORDER BY source_path
