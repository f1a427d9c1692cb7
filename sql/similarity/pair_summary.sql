-- How many pairs dump $dump_id stores, the largest raw seed score among them (the seed metric's 0..1
-- scale) and how many neighbour rows the views serve (top $k of each artist, for each of the 5 metrics).
WITH p AS (
    SELECT p.artist_a, p.artist_b, sim_seed_raw(p.co_listeners, la.listeners, lb.listeners) AS seed_raw
    FROM artist_pairs p
    JOIN sim_eligible la ON la.artist_id = p.artist_a
    JOIN sim_eligible lb ON lb.artist_id = p.artist_b
    WHERE p.dump_id = $dump_id
),
degree AS (
    SELECT count(*) AS n FROM (SELECT artist_a AS artist_id FROM p UNION ALL SELECT artist_b FROM p) GROUP BY artist_id
)
SELECT (SELECT count(*) FROM p), (SELECT max(seed_raw) FROM p), (SELECT coalesce(5 * sum(least(n, $k)), 0) FROM degree);
