-- The co-listened pairs of $artist_id in dump $dump_id: consecutive rows of the snapshot's
-- artist_pair_lookup (one zone-map probe), scored and ranked by musim.similarity.metrics.
SELECT neighbor_id, co_listeners FROM artist_pair_lookup WHERE artist_id = $artist_id AND dump_id = $dump_id;
