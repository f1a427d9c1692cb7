-- The co-listened pairs of dump $dump_id in both directions, laid out by artist in C
-- (musim.cooccurrence.symmetric_pairs; musim.serving registers them as pub_pair_lookup), appended in that order
-- to the new snapshot's pair_lookup under dump seq $dump_seq (run under musim.warehouse.in_order). The same
-- rows as sql/serving/publish_pair_lookup.sql, without its sort of 40M rows.
INSERT INTO snap.pair_lookup
SELECT $dump_seq, artist_id, neighbor_id, co_listeners FROM pub_pair_lookup;
