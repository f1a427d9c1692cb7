-- Why track $track_id has no audio neighbours in model version $model: the neighbour rows it has (every one naming
-- a track the track table no longer holds, else it would have neighbours; none: it was not embedded).
SELECT count(*) AS own_rows FROM track_neighbors n WHERE n.model_version = $model AND n.track_id = $track_id;
