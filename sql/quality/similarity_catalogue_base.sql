-- The catalogue pair rows of dump $dump_id that GX validates row by row.
SELECT artist_a, artist_b, co_listeners, seed, jaccard, cosine, lift, pmi
FROM artist_pair_similarity WHERE dump_id = $dump_id;
