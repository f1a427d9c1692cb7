-- The most listened artists of dump $dump_id that have co-listening neighbours (examples for the page).
SELECT a.name, l.listeners
FROM artist_listeners l
JOIN artist a ON a.artist_id = l.artist_id
WHERE l.dump_id = $dump_id AND NOT a.is_placeholder
  AND EXISTS (SELECT 1 FROM artist_neighbors n WHERE n.dump_id = l.dump_id AND n.artist_id = l.artist_id)
ORDER BY l.listeners DESC, a.name
LIMIT $limit;
