-- The co-listened pairs of dump $dump_id in both directions, sorted by artist, appended to the new snapshot's
-- artist_pair_lookup (created by sql/serving/publish.sql): the pairs of one artist are a few hundred consecutive
-- rows that one zone-map probe finds (`musim similar`, musim/similarity/metrics.py over
-- sql/serving/pairs_of.sql). One dump at a time, so that the sort carries three integers per row and not
-- the dump id (a third of the time of one sort of all dumps with the id, at 1/4 scale). Sorted on the
-- integer artist alone, and without the neighbours' listeners (a join of every row on the dump id: the
-- question joins its few hundred rows instead). An ART index over the pairs builds slower (~1 s per
-- million rows here) and fetches slower (a random row fetch per pair); a list per artist reads its whole
-- row group's lists. The snapshot's artist_pairs (each pair once, as in the warehouse) is a view of it
-- (sql/serving/snapshot_lookups.sql).
INSERT INTO snap.artist_pair_lookup
SELECT $dump_id, artist_id, neighbor_id, co_listeners
FROM (
    SELECT artist_a AS artist_id, artist_b AS neighbor_id, co_listeners FROM artist_pairs WHERE dump_id = $dump_id
    UNION ALL
    SELECT artist_b, artist_a, co_listeners FROM artist_pairs WHERE dump_id = $dump_id
    ORDER BY artist_id
);
