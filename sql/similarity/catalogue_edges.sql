-- The catalogue's edges for the C co-listener counter: the user's id and the artist's dense index.
SELECT user_id, idx FROM sim_catalogue_edges;
