-- The dumps with a similarity build in a snapshot where artist $artist_id has listeners, newest first: id and
-- listeners (`musim similar` names them when the dump it answers from has none of the artist's listeners).
SELECT l.dump_id, l.listeners
FROM artist_listeners l
JOIN similarity_build b USING (dump_id)
JOIN lastfm_dump d USING (dump_id)
WHERE l.artist_id = $artist_id AND l.listeners > 0
ORDER BY d.seq DESC;
