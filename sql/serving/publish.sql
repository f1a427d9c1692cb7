-- Copy the serving tables from the warehouse into the attached new snapshot `snap` (compressed columnar
-- tables, copied whole: nothing is scored here). The metrics and neighbours are the views of
-- sql/similarity/views.sql, created with the indexes by sql/serving/snapshot_lookups.sql. Run under
-- musim.warehouse.in_order: listeners and catalogue pairs are copied in their storage order, where each build
-- stored its dump's rows together (what the snapshot's zone maps need; sorting them by the 64-character dump
-- id took a third of this file's time).
CREATE TABLE snap.lastfm_dump AS SELECT * FROM lastfm_dump ORDER BY seq;
CREATE TABLE snap.similarity_build AS SELECT * FROM similarity_build;
-- Each artist's name_key (musim.names.name_key of its name, kept in artist_name_key and brought up to date by
-- musim.serving before this file): how `musim similar` finds a name typed with other spacing, punctuation or
-- accents.
CREATE TABLE snap.artist AS
    SELECT a.artist_id, a.name, a.name_norm, k.name_key, a.mbid, a.is_placeholder
    FROM artist a LEFT JOIN artist_name_key k USING (artist_id)
    ORDER BY a.artist_id;
CREATE TABLE snap.artist_listeners AS SELECT * FROM artist_listeners;
-- The co-listened pairs in both directions, grouped by artist, one dump after the other: filled dump by dump
-- after this file (musim.serving), each dump's rows recorded in pair_lookup_dumps (its seq, the rowid of its
-- first row, its rows). No dump column: 40M rows are written ~20% faster with three integers than with four,
-- and a question reads its dump's rows by rowid range (DuckDB prunes row groups on it) and its artist's by zone
-- map; the view artist_pair_lookup (sql/serving/snapshot_lookups.sql) joins the dump back, as fast as a column.
-- Each column's compression is named: the ones DuckDB picks by itself for these rows (runs of one artist: RLE;
-- ascending neighbours and small counts: bit-packing), without its trial of every other method on each segment
-- of 40M rows first (the insert took 2.0 s of CPU with that trial, 1.6 s without; the same file size).
CREATE TABLE snap.pair_lookup (artist_id INTEGER NOT NULL USING COMPRESSION rle,
                               neighbor_id INTEGER NOT NULL USING COMPRESSION bitpacking,
                               co_listeners INTEGER NOT NULL USING COMPRESSION bitpacking);
CREATE TABLE snap.pair_lookup_dumps (dump_seq INTEGER NOT NULL, first_row BIGINT NOT NULL, row_count BIGINT NOT NULL);
CREATE TABLE snap.artist_pair_similarity AS SELECT * FROM artist_pair_similarity;
-- The latest built dump, for queries that do not name one.
CREATE VIEW snap.latest_dump AS
    SELECT d.dump_id FROM lastfm_dump d JOIN similarity_build b USING (dump_id) ORDER BY d.seq DESC LIMIT 1;
