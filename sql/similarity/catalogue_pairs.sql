-- Full pair table among the catalogue: the $catalogue_size artists with the most listeners (ties: lower id)
-- and at least $min_listeners listeners. Every pair with >= 1 co-listener is kept (absent pair = 0).
-- seed uses the dump-wide scale (the max of r over all counted pairs, $seed_raw_max), so catalogue
-- scores equal the neighbour views' scores for the same pair (the metrics of sql/similarity/views.sql).
INSERT INTO artist_pair_similarity (dump_id, artist_a, artist_b, co_listeners, seed, jaccard, cosine, lift, pmi)
WITH catalogue AS (
    SELECT artist_id, listeners
    FROM sim_eligible
    ORDER BY listeners DESC, artist_id
    LIMIT $catalogue_size
),
edges AS (
    SELECT p.user_id, c.artist_id
    FROM lastfm_plays p JOIN catalogue c USING (artist_id)
    WHERE p.dump_id = $dump_id AND p.plays > 0
),
pairs AS (
    SELECT a.artist_id AS artist_a, b.artist_id AS artist_b, count(*) AS co
    FROM edges a JOIN edges b ON a.user_id = b.user_id AND a.artist_id < b.artist_id
    GROUP BY ALL
)
SELECT $dump_id, p.artist_a, p.artist_b, p.co,
       least(1.0, sim_score('seed', p.co, ca.listeners, cb.listeners, $users, $seed_raw_max)),
       sim_score('jaccard', p.co, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('cosine', p.co, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('lift', p.co, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('pmi', p.co, ca.listeners, cb.listeners, $users, $seed_raw_max)
FROM pairs p
JOIN catalogue ca ON ca.artist_id = p.artist_a
JOIN catalogue cb ON cb.artist_id = p.artist_b;
