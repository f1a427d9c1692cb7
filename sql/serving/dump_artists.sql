-- The artists with listeners in dump $dump_id: id, listeners, display name, normalised name and name key (read
-- once per snapshot connection by `musim similar`, which then answers a question with one probe of the pairs).
SELECT l.artist_id, l.listeners, a.name, a.name_norm, a.name_key
FROM artist_listeners l JOIN artist a USING (artist_id)
WHERE l.dump_id = $dump_id;
