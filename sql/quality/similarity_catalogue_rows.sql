SELECT artist_a, artist_b, co_listeners, seed, jaccard, cosine, lift, pmi FROM q_base;
