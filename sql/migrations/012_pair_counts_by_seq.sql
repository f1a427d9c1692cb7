-- The co-listened pairs keyed by the dump's integer seq (artist_pair_counts), not its 64-character id: the id
-- as a column took 40% of the time to write 20M pairs, and every scan of one dump's pairs compared it. The view
-- artist_pairs keeps the id for the readers (sql/similarity/views.sql, the UI, the models). Listeners lose
-- their primary key: its index over (64-character id, artist) took 90% of the time to store them; each
-- artist is stored once per dump by construction (a GROUP BY artist), which the similarity quality gate
-- checks (sql/quality/similarity_invariants.sql). Pairs move over in their stored order (pair order).
SET preserve_insertion_order = true;

CREATE TABLE artist_pair_counts (
    dump_seq     INTEGER NOT NULL,
    artist_a     INTEGER NOT NULL,
    artist_b     INTEGER NOT NULL,
    co_listeners INTEGER NOT NULL
);
INSERT INTO artist_pair_counts
SELECT d.seq, p.artist_a, p.artist_b, p.co_listeners
FROM artist_pairs p JOIN lastfm_dump d USING (dump_id)
ORDER BY d.seq, p.artist_a, p.artist_b;
DROP TABLE artist_pairs;

-- Every unordered pair (artist_a < artist_b) of eligible artists with >= min_co_listeners co-listeners, by
-- dump id (what artist_pairs held before).
CREATE VIEW artist_pairs AS
SELECT d.dump_id, p.artist_a, p.artist_b, p.co_listeners
FROM artist_pair_counts p JOIN lastfm_dump d ON d.seq = p.dump_seq;

CREATE TABLE artist_listeners_unkeyed AS SELECT * FROM artist_listeners ORDER BY dump_id, artist_id;
DROP TABLE artist_listeners;
ALTER TABLE artist_listeners_unkeyed RENAME TO artist_listeners;

SET preserve_insertion_order = false;
