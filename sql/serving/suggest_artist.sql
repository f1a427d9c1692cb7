-- The known artists (with listeners in dump $dump_id) whose names are closest to $name_norm.
SELECT a.name, jaro_winkler_similarity(a.name_norm, $name_norm) AS closeness
FROM artist a
JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
ORDER BY closeness DESC, l.listeners DESC
LIMIT $limit;
