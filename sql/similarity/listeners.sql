-- Listeners per artist for dump $dump_id (placeholders such as '[unknown]' excluded), and the eligible artists
-- (>= $min_listeners listeners), numbered densely 0..E-1 by id in idx. Their edges (user, artist) are read by
-- each engine: the C counter's straight into its arrays (sql/similarity/edges.sql), DuckDB's into the scratch
-- table sim_edges it self-joins (sql/similarity/edges_table.sql).
CREATE OR REPLACE TEMP TABLE sim_listeners AS
SELECT p.artist_id, count(*) AS listeners, sum(p.plays) AS plays
FROM lastfm_plays p
JOIN artist a USING (artist_id)
WHERE p.dump_id = $dump_id AND p.plays > 0 AND NOT a.is_placeholder
GROUP BY p.artist_id;

CREATE OR REPLACE TEMP TABLE sim_eligible AS
SELECT artist_id, listeners, (row_number() OVER (ORDER BY artist_id) - 1)::INTEGER AS idx
FROM sim_listeners
WHERE listeners >= $min_listeners;
