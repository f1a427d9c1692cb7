-- Co-listeners of the unordered pairs (idx_a < idx_b) of eligible artists with >= $min_co_listeners,
-- for the slice of first artists $idx_lo <= idx_a < $idx_hi (the caller covers all slices into sim_pairs).
-- Why slices: the aggregate's hash table then holds one slice's pairs, which stays in cache and memory
-- (at full scale, 32 slices: -25% CPU and 1/5 of the peak memory of one pass). The pair is packed as
-- idx_a * $n_artists + idx_b: one BIGINT key hashes and groups faster than two INTEGER columns.
INSERT INTO sim_pairs
SELECT (pair // $n_artists)::INTEGER AS idx_a, (pair % $n_artists)::INTEGER AS idx_b, co::INTEGER AS co
FROM (
    SELECT a.idx::BIGINT * $n_artists + b.idx AS pair, count(*) AS co
    FROM sim_edges a
    JOIN sim_edges b ON a.user_id = b.user_id AND a.idx < b.idx
    WHERE a.idx >= $idx_lo AND a.idx < $idx_hi
    GROUP BY pair
    HAVING count(*) >= $min_co_listeners
);
