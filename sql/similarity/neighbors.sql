-- The top $k neighbours of every artist for metric scores in sim_scored, in both directions.
-- Ties are broken deterministically: higher score first, then more co-listeners, then the lower artist id.
-- max_by(..., k) keeps a bounded heap per artist instead of sorting every pair.
INSERT INTO artist_neighbors (dump_id, metric, artist_id, rank, neighbor_id, score, co_listeners)
WITH directed AS (
    SELECT artist_a AS artist_id, artist_b AS neighbor_id, co, seed, jaccard, cosine, lift FROM sim_scored
    UNION ALL
    SELECT artist_b, artist_a, co, seed, jaccard, cosine, lift FROM sim_scored
),
tops AS (
    SELECT artist_id,
           max_by({'n': neighbor_id, 's': seed, 'c': co}, {'s': seed, 'c': co, 'n': -neighbor_id}, $k) AS t_seed,
           max_by({'n': neighbor_id, 's': jaccard, 'c': co}, {'s': jaccard, 'c': co, 'n': -neighbor_id}, $k) AS t_jaccard,
           max_by({'n': neighbor_id, 's': cosine, 'c': co}, {'s': cosine, 'c': co, 'n': -neighbor_id}, $k) AS t_cosine,
           max_by({'n': neighbor_id, 's': lift, 'c': co}, {'s': lift, 'c': co, 'n': -neighbor_id}, $k) AS t_lift
    FROM directed
    GROUP BY artist_id
),
long AS (
    SELECT artist_id, 'seed' AS metric, unnest(t_seed) AS t, generate_subscripts(t_seed, 1) AS rank FROM tops
    UNION ALL SELECT artist_id, 'jaccard', unnest(t_jaccard), generate_subscripts(t_jaccard, 1) FROM tops
    UNION ALL SELECT artist_id, 'cosine', unnest(t_cosine), generate_subscripts(t_cosine, 1) FROM tops
    UNION ALL SELECT artist_id, 'lift', unnest(t_lift), generate_subscripts(t_lift, 1) FROM tops
)
SELECT $dump_id, metric, artist_id, rank, t.n, t.s, t.c FROM long
UNION ALL
SELECT $dump_id, 'pmi', artist_id, rank, t.n, ln(t.s), t.c FROM long WHERE metric = 'lift';
