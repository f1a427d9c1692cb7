-- The edges (user, artist) of dump $dump_id's eligible artists for the C co-listener counter: the user's id and the
-- artist's dense index (sim_eligible.idx, 0..E-1 by artist id), read from the plays straight into its arrays (a
-- scratch table of them first, sql/similarity/edges_table.sql, took ~0.3 s more CPU at full scale, 12.3M edges).
SELECT p.user_id, e.idx
FROM lastfm_plays p
JOIN sim_eligible e USING (artist_id)
WHERE p.dump_id = $dump_id AND p.plays > 0;
