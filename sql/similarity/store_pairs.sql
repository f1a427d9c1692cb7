-- Stores the pairs counted by the C co-listener counter (musim/similarity/colisten.py registers them as the
-- Arrow table sim_new_pairs: artist_a < artist_b, co_listeners, sorted by pair) for dump $dump_id, in that
-- order (run under musim.warehouse.in_order).
INSERT INTO artist_pairs (dump_id, artist_a, artist_b, co_listeners)
SELECT $dump_id, artist_a, artist_b, co_listeners FROM sim_new_pairs;
