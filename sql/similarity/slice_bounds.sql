-- The artist ids that split the eligible artists (sim_eligible, numbered 0..E-1 by id in idx) into slices of
-- about $per_slice artists for sql/similarity/pairs.sql, and the span of ids that packs a pair into a BIGINT.
SELECT list(artist_id ORDER BY idx) FILTER (WHERE idx % $per_slice = 0), max(artist_id) + 1
FROM sim_eligible;
