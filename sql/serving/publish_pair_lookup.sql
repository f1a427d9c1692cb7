-- The co-listened pairs of the dump of seq $dump_seq in both directions sorted by artist, appended to the new
-- snapshot's pair_lookup (created by sql/serving/publish.sql; the dump's rows are then recorded by
-- sql/serving/record_lookup_rows.sql), by DuckDB's sort: the fallback
-- where the C kernels are not built (musim.cooccurrence.symmetric_pairs lays the same rows out without a sort:
-- sql/serving/publish_pair_lookup_laid_out.sql). Run under musim.warehouse.in_order, one dump at a time, so
-- that the sort carries three integers per row. The pairs of one artist are a few hundred consecutive rows that
-- one zone-map probe finds (`musim similar`, musim/similarity/metrics.py over sql/serving/pairs_of.sql). Sorted
-- on the two integers (the same order as the C layout), without the neighbours' listeners (a join of every
-- row: the question joins its few hundred rows instead). An ART index over the pairs builds slower (~1 s per million rows here) and
-- fetches slower (a random row fetch per pair); a list per artist reads its whole row group's lists.
INSERT INTO snap.pair_lookup
SELECT artist_id, neighbor_id, co_listeners
FROM (
    SELECT artist_a AS artist_id, artist_b AS neighbor_id, co_listeners FROM artist_pair_counts WHERE dump_seq = $dump_seq
    UNION ALL
    SELECT artist_b, artist_a, co_listeners FROM artist_pair_counts WHERE dump_seq = $dump_seq
    ORDER BY artist_id, neighbor_id
);
