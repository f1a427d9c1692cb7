-- The top-K neighbour rows of dump $dump_id that GX validates row by row.
SELECT metric, artist_id, rank, neighbor_id, score, co_listeners FROM artist_neighbors WHERE dump_id = $dump_id;
