-- The top $k neighbours of artist $artist_id by $metric in dump $dump_id (a published snapshot).
SELECT b.name AS artist, n.score, n.co_listeners, n.rank, n.neighbor_id AS artist_id, l.listeners
FROM artist_neighbors n
JOIN artist b ON b.artist_id = n.neighbor_id
LEFT JOIN artist_listeners l ON l.dump_id = n.dump_id AND l.artist_id = n.neighbor_id
WHERE n.dump_id = $dump_id AND n.metric = $metric AND n.artist_id = $artist_id AND n.rank <= $k
ORDER BY n.rank;
