-- Co-listeners of every pair of catalogue artists (artist_a < artist_b, at least one), by DuckDB's
-- self-join of their edges (user, artist): the fallback of the C counter (musim/similarity/colisten.py), same rows.
CREATE OR REPLACE TEMP TABLE sim_catalogue_edges AS
SELECT e.user_id, c.artist_id, c.idx
FROM sim_edges e JOIN sim_catalogue c USING (artist_id);

CREATE OR REPLACE TEMP TABLE sim_catalogue_counts AS
SELECT a.artist_id AS artist_a, b.artist_id AS artist_b, count(*)::INTEGER AS co_listeners
FROM sim_catalogue_edges a
JOIN sim_catalogue_edges b ON a.user_id = b.user_id AND a.artist_id < b.artist_id
GROUP BY ALL;
