-- The sampled pairs with both artists' listeners and the five metrics derived from them (sql/similarity/views.sql).
SELECT q.artist_a, q.artist_b, q.co_listeners, la.listeners AS listeners_a, lb.listeners AS listeners_b,
       sim_score('seed', q.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max) AS seed,
       sim_score('jaccard', q.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max) AS jaccard,
       sim_score('cosine', q.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max) AS cosine,
       sim_score('lift', q.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max) AS lift,
       sim_score('pmi', q.co_listeners, la.listeners, lb.listeners, b.users, b.seed_raw_max) AS pmi
FROM q_base q
JOIN similarity_build b ON b.dump_id = $dump_id
LEFT JOIN artist_listeners la ON la.dump_id = $dump_id AND la.artist_id = q.artist_a
LEFT JOIN artist_listeners lb ON lb.dump_id = $dump_id AND lb.artist_id = q.artist_b;
