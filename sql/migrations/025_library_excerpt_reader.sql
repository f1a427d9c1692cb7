-- The version of the windowed reader (musim.audio.io.READ_WINDOW_VERSION) that cut each stored library excerpt, so
-- `musim library add` reads an unchanged file's excerpt again when an older reader cut it (a rerun skips unchanged
-- files otherwise, and an excerpt is never read again).
--
-- Version 1 is the reader before the pre-roll: libsndfile seeked straight to the window (an mp3 lacked its bit
-- reservoir there) and PyAV started at the keyframe before it (AAC lacked its overlap), so an mp3 or m4a excerpt
-- cut at an offset differed from the same window of a full decode (by up to 0.4 in the samples of an m4a, 7.4 dB
-- in its first spectrogram frames). Version 2 enters a second early and cuts at the exact sample. The rows here
-- were stored before this migration; those that version 2 would cut otherwise are version 1: excerpts of mp3 and
-- m4a files at a nonzero offset. An excerpt from the start (no seek), one of a lossless, Vorbis or Opus file
-- (libsndfile seeks those exactly: the same samples, measured) and a whole stored file (no excerpt; features read
-- it through today's reader) are the same under version 2. A row version 2 stored before this migration is
-- marked 1 too: reading it again gives the same object, and nothing else changes.
-- DEFAULT 1: a row written without naming it is taken for an old one (read again, never trusted).
ALTER TABLE library_track ADD COLUMN excerpt_reader SMALLINT NOT NULL DEFAULT 1;

UPDATE library_track
SET excerpt_reader = CASE WHEN stored = 'excerpt' AND excerpt_offset_s > 0 AND source_format IN ('mp3', 'm4a')
                          THEN 1 ELSE 2 END;
