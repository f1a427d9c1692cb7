-- The stored pairs of the dump of seq $dump_seq in storage order (summarised for the DuckDB engine's build record; laid out
-- for a published snapshot's pair lookup).
SELECT artist_a, artist_b, co_listeners FROM artist_pair_counts WHERE dump_seq = $dump_seq;
