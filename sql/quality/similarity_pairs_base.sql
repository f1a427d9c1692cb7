-- The co-listened pairs of dump $dump_id that GX validates row by row (with their row ids, for sampling).
SELECT rowid AS q_rowid, artist_a, artist_b, co_listeners FROM artist_pairs WHERE dump_id = $dump_id;
