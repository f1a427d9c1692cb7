-- The co-listened pairs of one dump in both directions, laid out by artist in C
-- (musim.cooccurrence.symmetric_pairs; musim.serving registers them as pub_pair_lookup), appended in that order
-- to the new snapshot's pair_lookup (run under musim.warehouse.in_order; the dump's rows are then recorded by
-- sql/serving/record_lookup_rows.sql). The same rows as sql/serving/publish_pair_lookup.sql, without its sort
-- of 40M rows.
INSERT INTO snap.pair_lookup SELECT artist_id, neighbor_id, co_listeners FROM pub_pair_lookup;
