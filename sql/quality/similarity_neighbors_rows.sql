SELECT metric, artist_id, rank, neighbor_id, score, co_listeners FROM q_base;
