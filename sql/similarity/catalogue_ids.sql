-- The catalogue artists' ids by their dense index (sim_catalogue.idx).
SELECT artist_id FROM sim_catalogue ORDER BY idx;
