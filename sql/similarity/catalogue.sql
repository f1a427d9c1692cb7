-- The catalogue of a build: the $catalogue_size eligible artists with the most listeners (ties: lower id),
-- numbered densely 0..C-1 by id in idx. Its edges: the C counter picks them out of the eligible artists' edges
-- (musim.similarity.colisten.read_edges), DuckDB's self-join copies them from sim_edges into a scratch table
-- (sql/similarity/catalogue_counts.sql).
CREATE OR REPLACE TEMP TABLE sim_catalogue AS
SELECT artist_id, listeners, (row_number() OVER (ORDER BY artist_id) - 1)::INTEGER AS idx
FROM (SELECT artist_id, listeners FROM sim_eligible ORDER BY listeners DESC, artist_id LIMIT $catalogue_size);
