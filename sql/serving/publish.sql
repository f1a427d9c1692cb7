-- Copy the serving tables from the warehouse into the attached new snapshot `snap`, sorted so that
-- lookups by (dump, metric, artist) read few row groups.
CREATE TABLE snap.lastfm_dump AS SELECT * FROM lastfm_dump ORDER BY seq;
CREATE TABLE snap.similarity_build AS SELECT * FROM similarity_build;
CREATE TABLE snap.artist AS
    SELECT artist_id, name, name_norm, mbid, is_placeholder FROM artist ORDER BY artist_id;
CREATE TABLE snap.artist_listeners AS SELECT * FROM artist_listeners ORDER BY dump_id, artist_id;
-- Neighbours carry their name and listeners, so a lookup reads one table through its index (no join).
CREATE TABLE snap.artist_neighbors AS
    SELECT n.*, a.name AS neighbor_name, l.listeners AS neighbor_listeners
    FROM artist_neighbors n
    JOIN artist a ON a.artist_id = n.neighbor_id
    LEFT JOIN artist_listeners l ON l.dump_id = n.dump_id AND l.artist_id = n.neighbor_id
    ORDER BY n.dump_id, n.metric, n.artist_id, n.rank;
CREATE TABLE snap.artist_pair_similarity AS
    SELECT * FROM artist_pair_similarity ORDER BY dump_id, artist_a, artist_b;
-- The latest built dump, for queries that do not name one.
CREATE VIEW snap.latest_dump AS
    SELECT d.dump_id FROM lastfm_dump d JOIN similarity_build b USING (dump_id) ORDER BY d.seq DESC LIMIT 1;
-- Convenience: neighbours with names, for ad-hoc SQL.
CREATE VIEW snap.similar_artists AS
    SELECT n.dump_id, n.metric, a.name AS artist, n.rank, b.name AS neighbor, n.score, n.co_listeners,
           n.artist_id, n.neighbor_id
    FROM artist_neighbors n JOIN artist a ON a.artist_id = n.artist_id JOIN artist b ON b.artist_id = n.neighbor_id;
-- Point lookups of `musim similar`: an ART index each, so a query reads a handful of rows.
CREATE INDEX artist_name_norm_idx ON snap.artist (name_norm);
CREATE INDEX artist_neighbors_lookup_idx ON snap.artist_neighbors (artist_id, metric, dump_id);
CREATE INDEX artist_listeners_lookup_idx ON snap.artist_listeners (artist_id, dump_id);
