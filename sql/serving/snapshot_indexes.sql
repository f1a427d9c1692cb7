-- Point lookups of `musim similar` in a new snapshot (run on the snapshot's own connection, after
-- sql/similarity/views.sql): an ART index each, so a question reads a handful of rows. An artist's pairs
-- are found by artist_a (its pairs with higher ids) and by artist_b (with lower ids).
CREATE INDEX artist_name_norm_idx ON artist (name_norm);
CREATE INDEX artist_listeners_lookup_idx ON artist_listeners (artist_id, dump_id);
CREATE INDEX artist_pairs_a_idx ON artist_pairs (artist_a);
CREATE INDEX artist_pairs_b_idx ON artist_pairs (artist_b);
