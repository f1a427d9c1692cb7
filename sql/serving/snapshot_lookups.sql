-- In a new snapshot (run on the snapshot's own connection, before sql/similarity/views.sql): the pair lookup
-- with each dump's id, the pairs once each, as in the warehouse, and the point lookups of `musim similar` (an
-- ART index each on the small tables, so that a question reads a handful of rows; pair_lookup is sorted by
-- dump and artist instead: a join on the dumps' row ranges, a handful of rows, costs what a dump column did).
CREATE VIEW artist_pair_lookup AS
    SELECT d.dump_id, p.artist_id, p.neighbor_id, p.co_listeners
    FROM pair_lookup_dumps r
    JOIN lastfm_dump d ON d.seq = r.dump_seq
    JOIN pair_lookup p ON p.rowid >= r.first_row AND p.rowid < r.first_row + r.row_count;
CREATE VIEW artist_pairs AS
    SELECT dump_id, artist_id AS artist_a, neighbor_id AS artist_b, co_listeners
    FROM artist_pair_lookup WHERE artist_id < neighbor_id;
CREATE INDEX artist_name_norm_idx ON artist (name_norm);
CREATE INDEX artist_name_key_idx ON artist (name_key);
CREATE INDEX artist_listeners_lookup_idx ON artist_listeners (artist_id, dump_id);
