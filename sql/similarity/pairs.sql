-- Co-listeners of the unordered pairs (artist_a < artist_b) of eligible artists with >= $min_co_listeners,
-- for the slice of first artists $artist_lo <= artist_a < $artist_hi, stored once per pair in artist_pair_counts
-- (the caller covers all slices). Why slices: the aggregate's hash table then holds one slice's pairs,
-- which stays in cache and memory (at full scale, 32 slices: -25% CPU and 1/5 of the peak memory of one
-- pass). The pair is packed as artist_a * $id_span + artist_b: one BIGINT key hashes and groups faster than
-- two INTEGER columns. Each slice is inserted in pair order, the slices in ascending order, under
-- musim.warehouse.in_order: the pairs are stored in pair order, as the C engine stores them.
INSERT INTO artist_pair_counts (dump_seq, artist_a, artist_b, co_listeners)
SELECT $dump_seq, (pair // $id_span)::INTEGER, (pair % $id_span)::INTEGER, co::INTEGER
FROM (
    SELECT a.artist_id::BIGINT * $id_span + b.artist_id AS pair, count(*) AS co
    FROM sim_edges a
    JOIN sim_edges b ON a.user_id = b.user_id AND a.artist_id < b.artist_id
    WHERE a.artist_id >= $artist_lo AND a.artist_id < $artist_hi
    GROUP BY pair
    HAVING count(*) >= $min_co_listeners
)
ORDER BY pair;
