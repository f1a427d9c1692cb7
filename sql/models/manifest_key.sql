-- The object key of the serving manifest that the publication of $model_version ($family) made at $created_at writes
-- before its commit (musim.models.serve.publish_neighbors): models/<family>/<version>/manifests/<UTC time to the
-- microsecond>.json. The publication's created_at names it (audio_neighbors_build's key with model_version; its
-- neighbour rows carry it), so a snapshot finds it from the rows it serves (sql/serving/publish_extras.sql, the same
-- expression over the rows' created_at).
SELECT 'models/' || $family || '/' || $model_version || '/manifests/'
    || strftime(make_timestamp(epoch_us($created_at::TIMESTAMPTZ)), '%Y%m%dT%H%M%S%fZ') || '.json';
