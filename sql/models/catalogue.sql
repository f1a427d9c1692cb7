-- The catalogue of a similarity build: the artists artist_pair_similarity covers for dump $dump_id (the
-- catalogue_size artists with the most listeners, ties: lower id, with at least min_listeners), with their
-- listeners. Every pair of these artists has a target; a pair missing from artist_pair_similarity has no
-- co-listeners (target 0).
SELECT l.artist_id, l.listeners
FROM artist_listeners l
JOIN similarity_build b USING (dump_id)
WHERE l.dump_id = $dump_id AND l.listeners >= b.min_listeners
QUALIFY row_number() OVER (ORDER BY l.listeners DESC, l.artist_id) <= any_value(b.catalogue_size) OVER ()
ORDER BY l.artist_id
