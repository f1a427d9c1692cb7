-- The co-listened pairs of dump $dump_id (by its seq $dump_seq) that GX validates row by row (with their row ids, for sampling).
SELECT rowid AS q_rowid, artist_a, artist_b, co_listeners FROM artist_pair_counts
WHERE dump_seq = $dump_seq;
