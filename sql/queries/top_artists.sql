-- The most listened artists of dump $dump_id that have co-listening neighbours (a stored pair; examples for
-- the page).
SELECT a.name, l.listeners
FROM artist_listeners l
JOIN artist a ON a.artist_id = l.artist_id
WHERE l.dump_id = $dump_id AND NOT a.is_placeholder
  AND l.artist_id IN (SELECT artist_a FROM artist_pairs WHERE dump_id = $dump_id
                      UNION ALL SELECT artist_b FROM artist_pairs WHERE dump_id = $dump_id)
ORDER BY l.listeners DESC, a.name
LIMIT $limit;
