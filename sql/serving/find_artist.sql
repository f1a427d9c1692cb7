-- Artists whose normalised name equals $name_norm, most listened first (dump $dump_id; NULL: no dump).
SELECT a.artist_id, a.name, coalesce(l.listeners, 0) AS listeners
FROM artist a
LEFT JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
WHERE a.name_norm = $name_norm
ORDER BY listeners DESC, a.artist_id;
