-- The plays rows of dump $dump_id that GX validates row by row (sampled before the join below when large).
SELECT user_id, artist_id, plays, lines FROM lastfm_plays WHERE dump_id = $dump_id;
