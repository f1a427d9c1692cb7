-- mean_by_artist: the element-wise mean of the latest vectors (fs_latest of a track view) of each
-- artist's tracks, as fs_new(entity_key, vec, n_tracks). Each mean sums its tracks in track order: a parallel avg()
-- adds them in whatever order the threads meet them, so the same inputs gave means a few ulps apart and every rerun
-- wrote "changed" values (and history) for artists whose tracks had not changed.
CREATE OR REPLACE TEMP TABLE fs_new AS
WITH elements AS (
    SELECT CAST(t.artist_id AS VARCHAR) AS entity_key, l.entity_key AS track_id,
           unnest(l.payload) AS v, generate_subscripts(l.payload, 1) AS i
    FROM fs_latest l JOIN track t ON t.track_id = l.entity_key
), means AS (
    SELECT entity_key, i, avg(v ORDER BY track_id) AS v, count(DISTINCT track_id) AS n_tracks
    FROM elements GROUP BY entity_key, i
)
SELECT entity_key, list(v ORDER BY i) AS vec, max(n_tracks) AS n_tracks
FROM means GROUP BY entity_key;
