-- The edges (user, artist) of the eligible artists for the C co-listener counter: the user's id and the
-- artist's dense index (sim_eligible.idx, 0..E-1 by artist id).
SELECT user_id, idx FROM sim_edges;
