-- Write the audio neighbour tables' rows (migration 008) of model $model_version from the registered frames
-- `models_artist_neighbors` (artist_id, rank, neighbor_id, score) and `models_track_neighbors`
-- (track_id, rank, neighbor_track_id, score) of model $model_version, and record the publication.
-- $track_online / $artist_online: the staged online snapshot files (migration 021; NULL when none).
-- cold_start: the artist has no co-listening neighbours in the latest similarity build that may be served
-- (similarity_build_state; no listening data, or too little of it): its place among the others comes from its
-- audio alone. Each published snapshot sets it again against the dump it serves (serving/refresh_cold_start.sql).
-- Per family the tables hold the rows of its champion and of the version published last: publishing a challenger
-- by version removed the champion's rows, so `musim similar --audio --model CHAMPION` failed while `similar-audio
-- --family` still answered with the champion. The version's own earlier rows are replaced.
DELETE FROM artist_neighbors_audio
WHERE family = $family AND (model_version = $model_version OR model_version NOT IN (
    SELECT version FROM model_registry WHERE family = $family AND status = 'champion'));

INSERT INTO artist_neighbors_audio (family, model_version, artist_id, rank, neighbor_id, score, cold_start, created_at)
WITH latest AS (
    SELECT d.dump_id FROM lastfm_dump d JOIN similarity_build_state b USING (dump_id) WHERE b.servable
    ORDER BY d.seq DESC LIMIT 1
), known AS (
    SELECT n.artist_a AS artist_id FROM artist_pairs n JOIN latest USING (dump_id)
    UNION SELECT n.artist_b FROM artist_pairs n JOIN latest USING (dump_id)
)
SELECT $family, $model_version, n.artist_id, n.rank, n.neighbor_id, n.score,
       n.artist_id NOT IN (SELECT artist_id FROM known), $created_at
FROM models_artist_neighbors n;

DELETE FROM track_neighbors
WHERE family = $family AND (model_version = $model_version OR model_version NOT IN (
    SELECT version FROM model_registry WHERE family = $family AND status = 'champion'));

INSERT INTO track_neighbors (family, model_version, track_id, rank, neighbor_track_id, score, created_at)
SELECT $family, $model_version, n.track_id, n.rank, n.neighbor_track_id, n.score, $created_at
FROM models_track_neighbors n;

INSERT INTO audio_neighbors_build (model_version, family, tracks, artists, cold_start, k, track_view, artist_view,
                                   run_id, created_at, track_online, artist_online)
SELECT $model_version, $family, $tracks, $artists, count(DISTINCT artist_id) FILTER (WHERE cold_start),
       $k, $track_view, $artist_view, $run_id, $created_at, $track_online, $artist_online
FROM artist_neighbors_audio
WHERE model_version = $model_version;
