-- Plays of dump $dump_id, merged in C (musim.ingest.plays_360k.merge_plays registers merged_plays: one row
-- per user and artist, plays summed and lines counted, in (user, artist) order). They are stored in that
-- order: compact (runs of one user), and a duplicate check can confirm there is none in one ordered pass.
SET preserve_insertion_order = true;

INSERT INTO lastfm_plays (dump_id, user_id, artist_id, plays, lines)
SELECT $dump_id, user_id, artist_id, plays, lines FROM merged_plays;

SET preserve_insertion_order = false;
