-- The artists with the normalised name of artist $artist_id, itself included: id, MBID (text) and listeners in
-- dump $dump_id, most listened first, then the lower id (the order a name is answered in).
SELECT a.artist_id, a.mbid::VARCHAR AS mbid, coalesce(l.listeners, 0) AS listeners
FROM artist a
JOIN artist x ON x.name_norm = a.name_norm
LEFT JOIN artist_listeners l ON l.artist_id = a.artist_id AND l.dump_id = $dump_id
WHERE x.artist_id = $artist_id
ORDER BY listeners DESC, a.artist_id;
