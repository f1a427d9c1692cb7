-- The catalogue artists' ids and listeners by their dense index (sim_catalogue.idx).
SELECT artist_id, listeners FROM sim_catalogue ORDER BY idx;
