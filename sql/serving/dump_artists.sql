-- The artists with listeners in dump $dump_id: id, listeners, display and normalised name, name key, MBID (text)
-- and how many artists of the snapshot have that normalised name (read once per snapshot connection by `musim
-- similar`, which then answers a question with one probe of the pairs).
SELECT l.artist_id, l.listeners, a.name, a.name_norm, a.name_key, a.mbid, a.namesakes
FROM artist_listeners l
JOIN (SELECT artist_id, name, name_norm, name_key, mbid::VARCHAR AS mbid,
             count(*) OVER (PARTITION BY name_norm) AS namesakes
      FROM artist) a USING (artist_id)
WHERE l.dump_id = $dump_id;
