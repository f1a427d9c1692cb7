-- Version 3 of the windowed reader (musim.audio.window.READ_WINDOW_VERSION) reads a file of streams one after the
-- other whole (a chained Ogg, MP3 files `cat`-ed together: musim.audio.window.chained_stream); version 2 read its first
-- stream only, so the excerpt it stored was cut in the first stream's length (a window in the middle of the first
-- part, the track's duration_s the first part's). Every other file's windows are the same samples under both.
-- Which files are chained is known only by reading them: the version-2 excerpts of formats that can be chained (mp3,
-- Ogg Vorbis, Ogg Opus) stay version 2, and the next `musim library add` of their files reads their page or frame
-- headers (no decoding): a chained file's excerpt is cut again (its window chosen again in the whole length), the
-- others are marked version 3 as they are. Every other version-2 row is what version 3 cuts.
UPDATE library_track SET excerpt_reader = 3
WHERE excerpt_reader = 2 AND NOT (stored = 'excerpt' AND source_format IN ('mp3', 'ogg', 'opus'));
