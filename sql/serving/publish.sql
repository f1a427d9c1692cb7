-- Copy the serving tables from the warehouse into the attached new snapshot `snap` (compressed columnar
-- tables, copied whole: nothing is scored here). The metrics and neighbours are the views of
-- sql/similarity/views.sql, created with the indexes by sql/serving/snapshot_lookups.sql.
CREATE TABLE snap.lastfm_dump AS SELECT * FROM lastfm_dump ORDER BY seq;
CREATE TABLE snap.similarity_build AS SELECT * FROM similarity_build;
CREATE TABLE snap.artist AS
    SELECT artist_id, name, name_norm, mbid, is_placeholder FROM artist ORDER BY artist_id;
CREATE TABLE snap.artist_listeners AS SELECT * FROM artist_listeners ORDER BY dump_id, artist_id;
-- The co-listened pairs in both directions, sorted by artist: the pairs of one artist are a few hundred
-- consecutive rows that one zone-map probe finds (`musim similar`, musim/similarity/metrics.py over sql/serving/pairs_of.sql). Sorted on
-- the integer artist alone, and without the neighbours' listeners (a join of every row on the dump id: the
-- question joins its few hundred rows instead). An ART index over the pairs builds slower (~1 s per
-- million rows here) and fetches slower (a random row fetch per pair); a list per artist reads its whole
-- row group's lists. The snapshot's artist_pairs (each pair once, as in the warehouse) is a view of it
-- (sql/serving/snapshot_lookups.sql).
CREATE TABLE snap.artist_pair_lookup AS
    SELECT dump_id, artist_a AS artist_id, artist_b AS neighbor_id, co_listeners FROM artist_pairs
    UNION ALL
    SELECT dump_id, artist_b, artist_a, co_listeners FROM artist_pairs
    ORDER BY artist_id;
CREATE TABLE snap.artist_pair_similarity AS
    SELECT * FROM artist_pair_similarity ORDER BY dump_id, artist_a, artist_b;
-- The latest built dump, for queries that do not name one.
CREATE VIEW snap.latest_dump AS
    SELECT d.dump_id FROM lastfm_dump d JOIN similarity_build b USING (dump_id) ORDER BY d.seq DESC LIMIT 1;
