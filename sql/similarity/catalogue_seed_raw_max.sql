-- The largest raw seed score r (sim_seed_raw, sql/similarity/views.sql) of the catalogue's pairs
-- (sim_catalogue_counts: every pair with >= 1 co-listener, min_co_listeners or not): with the co-listened
-- pairs' largest, the seed scale of the build (NULL without catalogue pairs).
SELECT max(sim_seed_raw(p.co_listeners, ca.listeners, cb.listeners))
FROM sim_catalogue_counts p
JOIN sim_catalogue ca ON ca.artist_id = p.artist_a
JOIN sim_catalogue cb ON cb.artist_id = p.artist_b;
