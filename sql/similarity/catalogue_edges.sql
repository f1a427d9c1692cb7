-- The catalogue's edges for the C co-listener counter: the user's id and the artist's dense index (sim_catalogue.idx),
-- read from sim_edges straight into its arrays (a scratch table of them first took twice the CPU: 0.17 -> 0.085 s at
-- full scale, 5.2M edges).
SELECT e.user_id, c.idx FROM sim_edges e JOIN sim_catalogue c USING (artist_id);
