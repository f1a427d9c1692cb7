-- Full pair table among the catalogue (sim_catalogue, sql/similarity/catalogue.sql): every pair with >= 1
-- co-listener (sim_catalogue_counts: artist_a < artist_b, co_listeners; absent pair = 0), scored.
-- seed uses the build's one scale $seed_raw_max: the largest r of every pair it stores, the co-listened pairs
-- (>= min_co_listeners) and these (>= 1, sql/similarity/catalogue_seed_raw_max.sql), so every stored seed lies in
-- 0..1 unclipped and a pair's catalogue scores equal the neighbour views' (the metrics of sql/similarity/views.sql).
INSERT INTO artist_pair_similarity (dump_id, artist_a, artist_b, co_listeners, seed, jaccard, cosine, lift, pmi)
SELECT $dump_id, p.artist_a, p.artist_b, p.co_listeners,
       sim_score('seed', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('jaccard', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('cosine', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('lift', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('pmi', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max)
FROM sim_catalogue_counts p
JOIN sim_catalogue ca ON ca.artist_id = p.artist_a
JOIN sim_catalogue cb ON cb.artist_id = p.artist_b;
