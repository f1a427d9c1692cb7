-- Co-listeners of every unordered pair of eligible artists (idx_a < idx_b) with >= $min_co_listeners.
-- The pair is packed as idx_a * $n_artists + idx_b: one BIGINT key hashes and groups faster than two.
CREATE OR REPLACE TEMP TABLE sim_pairs AS
SELECT (pair // $n_artists)::INTEGER AS idx_a, (pair % $n_artists)::INTEGER AS idx_b, co::INTEGER AS co
FROM (
    SELECT a.idx::BIGINT * $n_artists + b.idx AS pair, count(*) AS co
    FROM sim_edges a
    JOIN sim_edges b ON a.user_id = b.user_id AND a.idx < b.idx
    GROUP BY pair
    HAVING count(*) >= $min_co_listeners
);
