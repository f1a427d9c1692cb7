-- Autocomplete: artists whose normalised name starts with $q (then contains it), most listened first: those
-- with listeners in dump $dump_id, or, when $dump_id is NULL (a music library without listening data), every
-- catalogue artist.
SELECT a.name, l.listeners
FROM artist a
LEFT JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
WHERE NOT a.is_placeholder AND contains(a.name_norm, $q) AND ($dump_id IS NULL OR l.artist_id IS NOT NULL)
ORDER BY starts_with(a.name_norm, $q) DESC, coalesce(l.listeners, 0) DESC, a.name
LIMIT $limit;
