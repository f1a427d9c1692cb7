-- The top $k neighbours (at most the build's k) of $artist_id by $metric in dump $dump_id, scored now from
-- the artist's co-listened pairs (two index lookups in artist_pairs: a few hundred rows) with the metrics
-- of sql/similarity/views.sql; ranked like the artist_neighbors view (score, co-listeners, lower id).
WITH b AS (
    SELECT users, seed_raw_max, k FROM similarity_build WHERE dump_id = $dump_id
),
mine AS (
    SELECT listeners FROM artist_listeners WHERE artist_id = $artist_id AND dump_id = $dump_id
),
p AS (
    SELECT artist_b AS neighbor_id, co_listeners FROM artist_pairs WHERE artist_a = $artist_id AND dump_id = $dump_id
    UNION ALL
    SELECT artist_a, co_listeners FROM artist_pairs WHERE artist_b = $artist_id AND dump_id = $dump_id
),
scored AS (
    SELECT p.neighbor_id, p.co_listeners, l.listeners, b.k,
           sim_score($metric, p.co_listeners, mine.listeners, l.listeners, b.users, b.seed_raw_max) AS score,
           sim_rank_key($metric, p.co_listeners, mine.listeners, l.listeners, b.users, b.seed_raw_max) AS rank_key
    FROM p
    JOIN artist_listeners l ON l.artist_id = p.neighbor_id AND l.dump_id = $dump_id
    CROSS JOIN b CROSS JOIN mine
),
top AS (
    SELECT *, row_number() OVER (ORDER BY rank_key DESC, co_listeners DESC, neighbor_id) AS rank
    FROM scored
    QUALIFY rank <= least($k, k)
)
SELECT a.name AS neighbor_name, t.score, t.co_listeners, t.rank, t.neighbor_id, t.listeners AS neighbor_listeners
FROM top t
JOIN artist a ON a.artist_id = t.neighbor_id
ORDER BY t.rank;
