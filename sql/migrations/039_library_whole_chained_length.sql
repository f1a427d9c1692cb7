-- A chained file (a chained Ogg, MP3s `cat`-ed together) stored whole (`musim library add --keep-whole`) by reader
-- version 2 was measured in its first stream only: its recorded length (library_track.duration_s, the preview's and
-- track's durations) is the first part's. Migration 038 marked every whole row current; the whole rows of formats that
-- can be chained (mp3, Ogg Vorbis, Ogg Opus) go back to version 2, and the next `musim library add` of their files reads
-- their page or frame headers (no decoding): a chained file's length is measured again and recorded (nothing is
-- stored again: the whole file is there), the others are marked version 3 as they are.
UPDATE library_track SET excerpt_reader = 2
WHERE stored = 'whole' AND source_format IN ('mp3', 'ogg', 'opus') AND excerpt_reader = 3;
