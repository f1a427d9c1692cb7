-- Names of the real artists of the snapshot's latest similarity build, most listened first.
SELECT a.name FROM artist_listeners l JOIN artist a USING (artist_id)
WHERE l.dump_id = (SELECT dump_id FROM latest_dump) AND NOT a.is_placeholder
ORDER BY l.listeners DESC;
