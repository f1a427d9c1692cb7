-- The top $k neighbours by $metric in dump $dump_id of the most listened artist whose normalised name is
-- $name_norm (one round trip; artist.name_norm and artist_neighbors are indexed in the snapshot).
WITH target AS (
    SELECT a.artist_id, a.name
    FROM artist a
    LEFT JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
    WHERE a.name_norm = $name_norm
    ORDER BY coalesce(l.listeners, 0) DESC, a.artist_id
    LIMIT 1
)
SELECT t.name AS target, b.name AS artist, n.score, n.co_listeners, n.rank, n.neighbor_id AS artist_id, l.listeners
FROM target t
LEFT JOIN artist_neighbors n
       ON n.artist_id = t.artist_id AND n.dump_id = $dump_id AND n.metric = $metric AND n.rank <= $k
LEFT JOIN artist b ON b.artist_id = n.neighbor_id
LEFT JOIN artist_listeners l ON l.dump_id = n.dump_id AND l.artist_id = n.neighbor_id
ORDER BY n.rank;
