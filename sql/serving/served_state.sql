-- What a snapshot serves, read from its own tables (musim.snapshots; recorded as served_state when it is published,
-- read from an older snapshot's tables): one (part, item, detail) row per thing served. Two snapshots with the same
-- rows serve the same answers. The tables derived from a similarity build (listeners, pairs, catalogue) are named by
-- the build (its dump and when it was built); the smaller tables by their rows' hashes, without the times they were
-- written (a model's neighbours published again alike are the same state). Quality results are not served answers.
SELECT 'dump' AS part, dump_id AS item, '' AS detail FROM lastfm_dump
UNION ALL
SELECT 'similarity', dump_id,
       concat_ws(' ', epoch_us(built_at), min_listeners, min_co_listeners, k, catalogue_size, pairs)
FROM similarity_build
UNION ALL
SELECT 'model', version, status FROM model_registry
UNION ALL
SELECT 'artist_audio', model_version, concat_ws(' ', count(*), bit_xor(hash(artist_id, rank, neighbor_id, score, cold_start)))
FROM artist_neighbors_audio GROUP BY model_version
UNION ALL
SELECT 'track_audio', model_version, concat_ws(' ', count(*), bit_xor(hash(track_id, rank, neighbor_track_id, score)))
FROM track_neighbors GROUP BY model_version
UNION ALL
SELECT 'artists', count(*)::VARCHAR, coalesce(bit_xor(hash(a)), 0)::VARCHAR FROM artist a
UNION ALL
SELECT 'tracks', count(*)::VARCHAR, coalesce(bit_xor(hash(t)), 0)::VARCHAR FROM track t
ORDER BY part, item, detail;
