-- The edges (user, artist) of dump $dump_id's eligible artists as the scratch table sim_edges, for DuckDB's
-- self-joins (sql/similarity/pairs.sql, catalogue_counts.sql): the C counter's fallback. The C counter reads the
-- same edges straight into its arrays (sql/similarity/edges.sql).
CREATE OR REPLACE TEMP TABLE sim_edges AS
SELECT p.user_id, p.artist_id, e.idx
FROM lastfm_plays p
JOIN sim_eligible e USING (artist_id)
WHERE p.dump_id = $dump_id AND p.plays > 0;
