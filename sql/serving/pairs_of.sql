-- The co-listened pairs of $artist_id in dump $dump_id: consecutive rows of the snapshot's pair_lookup (one
-- zone-map probe: the dump's seq is a constant when the scan starts), scored and ranked by
-- musim.similarity.metrics.
SELECT neighbor_id, co_listeners FROM pair_lookup
WHERE artist_id = $artist_id AND dump_seq = (SELECT seq FROM lastfm_dump WHERE dump_id = $dump_id);
