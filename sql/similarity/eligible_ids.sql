-- The eligible artists' ids and listeners by their dense index (sim_eligible.idx): maps the C counter's
-- indexes back to ids.
SELECT artist_id, listeners FROM sim_eligible ORDER BY idx;
