-- Autocomplete: artists with listeners in dump $dump_id whose normalised name starts with $q (then
-- contains it), most listened first.
SELECT a.name, l.listeners
FROM artist a
JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
WHERE NOT a.is_placeholder AND contains(a.name_norm, $q)
ORDER BY starts_with(a.name_norm, $q) DESC, l.listeners DESC, a.name
LIMIT $limit;
