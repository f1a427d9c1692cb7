-- Co-listening similarity is stored once per pair with its counts (artist_pairs); the five metrics and the
-- top-K neighbours are derived at query time (the views of sql/similarity/views.sql, created by every
-- similarity build and in every published snapshot) instead of 100 neighbours x 5 metrics per artist.
-- Builds made before this migration have no pairs: they are forgotten (run `musim similarity build`).

DROP TABLE artist_neighbors;

-- Every unordered pair (artist_a < artist_b) of eligible artists with >= min_co_listeners co-listeners.
CREATE TABLE artist_pairs (
    dump_id      VARCHAR NOT NULL,
    artist_a     INTEGER NOT NULL,
    artist_b     INTEGER NOT NULL,
    co_listeners INTEGER NOT NULL
);

DELETE FROM similarity_build;
DELETE FROM artist_pair_similarity;
