-- Stores the pairs counted by the C co-listener counter (musim/similarity/colisten.py registers them as the
-- Arrow table sim_new_pairs: artist_a < artist_b, co_listeners, sorted by pair) for the dump of seq $dump_seq, in that
-- order (run under musim.warehouse.in_order).
INSERT INTO artist_pair_counts (dump_seq, artist_a, artist_b, co_listeners)
SELECT $dump_seq, artist_a, artist_b, co_listeners FROM sim_new_pairs;
