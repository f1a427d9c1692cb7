-- The stored pairs of dump $dump_id among the artists of the registered frame `models_artists`
-- (artist_id), with the value of metric $metric. Pairs not returned have no co-listeners.
SELECT s.artist_a, s.artist_b,
       CASE $metric
           WHEN 'seed' THEN s.seed
           WHEN 'jaccard' THEN s.jaccard
           WHEN 'cosine' THEN s.cosine
           WHEN 'lift' THEN s.lift
           WHEN 'pmi' THEN s.pmi
       END AS value
FROM artist_pair_similarity s
SEMI JOIN models_artists a ON a.artist_id = s.artist_a
SEMI JOIN models_artists b ON b.artist_id = s.artist_b
WHERE s.dump_id = $dump_id
