-- The catalogue of a build: the $catalogue_size eligible artists with the most listeners (ties: lower id),
-- numbered densely 0..C-1 by id in idx. Their edges are read from sim_edges by each engine: the C counter's
-- straight into its arrays (sql/similarity/catalogue_edges.sql), DuckDB's into a scratch table it self-joins
-- (sql/similarity/catalogue_counts.sql).
CREATE OR REPLACE TEMP TABLE sim_catalogue AS
SELECT artist_id, listeners, (row_number() OVER (ORDER BY artist_id) - 1)::INTEGER AS idx
FROM (SELECT artist_id, listeners FROM sim_eligible ORDER BY listeners DESC, artist_id LIMIT $catalogue_size);
