-- The top $k neighbours (at most the build's k) of $artist_id by $metric in dump $dump_id, scored now from
-- the artist's co-listened pairs (consecutive rows of artist_pair_lookup: a few hundred) with the metrics
-- of sql/similarity/views.sql; ranked like the artist_neighbors view (score, co-listeners, lower id).
WITH b AS (
    SELECT users, seed_raw_max, k FROM similarity_build WHERE dump_id = $dump_id
),
mine AS (
    SELECT listeners FROM artist_listeners WHERE artist_id = $artist_id AND dump_id = $dump_id
),
p AS (
    SELECT q.neighbor_id, q.co_listeners, l.listeners AS neighbor_listeners
    FROM artist_pair_lookup q
    JOIN artist_listeners l ON l.artist_id = q.neighbor_id AND l.dump_id = $dump_id
    WHERE q.artist_id = $artist_id AND q.dump_id = $dump_id
),
top AS (
    SELECT p.neighbor_id, p.co_listeners, p.neighbor_listeners,
           sim_score($metric, p.co_listeners, mine.listeners, p.neighbor_listeners, b.users, b.seed_raw_max) AS score,
           row_number() OVER (ORDER BY sim_rank_key($metric, p.co_listeners, mine.listeners, p.neighbor_listeners,
                                                    b.users, b.seed_raw_max) DESC,
                                       p.co_listeners DESC, p.neighbor_id) AS rank
    FROM p CROSS JOIN b CROSS JOIN mine
    QUALIFY rank <= least($k, b.k)
)
SELECT a.name AS neighbor_name, t.score, t.co_listeners, t.rank, t.neighbor_id, t.neighbor_listeners
FROM top t
JOIN artist a ON a.artist_id = t.neighbor_id
ORDER BY t.rank;
