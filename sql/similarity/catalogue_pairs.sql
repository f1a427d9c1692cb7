-- Full pair table among the catalogue (sim_catalogue, sql/similarity/catalogue.sql): every pair with >= 1
-- co-listener (sim_catalogue_counts: artist_a < artist_b, co_listeners; absent pair = 0), scored.
-- seed uses the dump-wide scale (the max of r over all counted pairs, $seed_raw_max), so catalogue
-- scores equal the neighbour views' scores for the same pair (the metrics of sql/similarity/views.sql).
INSERT INTO artist_pair_similarity (dump_id, artist_a, artist_b, co_listeners, seed, jaccard, cosine, lift, pmi)
SELECT $dump_id, p.artist_a, p.artist_b, p.co_listeners,
       least(1.0, sim_score('seed', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max)),
       sim_score('jaccard', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('cosine', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('lift', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max),
       sim_score('pmi', p.co_listeners, ca.listeners, cb.listeners, $users, $seed_raw_max)
FROM sim_catalogue_counts p
JOIN sim_catalogue ca ON ca.artist_id = p.artist_a
JOIN sim_catalogue cb ON cb.artist_id = p.artist_b;
