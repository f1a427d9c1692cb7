-- The top $k neighbours of $artist_id by $metric in dump $dump_id (an index lookup in the snapshot).
SELECT neighbor_name, score, co_listeners, rank, neighbor_id, neighbor_listeners
FROM artist_neighbors
WHERE artist_id = $artist_id AND metric = $metric AND dump_id = $dump_id AND rank <= $k
ORDER BY rank;
