-- The known artists whose names are closest to $name_norm: those with listeners in dump $dump_id, or, when
-- $dump_id is NULL (a music library without listening data), every catalogue artist.
SELECT a.name, jaro_winkler_similarity(a.name_norm, $name_norm) AS closeness
FROM artist a
LEFT JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
WHERE $dump_id IS NULL OR l.artist_id IS NOT NULL
ORDER BY closeness DESC, coalesce(l.listeners, 0) DESC
LIMIT $limit;
