-- The eligible artists' ids by their dense index (sim_eligible.idx): maps the C counter's indexes back to ids.
SELECT artist_id FROM sim_eligible ORDER BY idx;
