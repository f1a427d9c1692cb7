-- Sets the status (and its time) of one model version.
UPDATE model_registry SET status = $status, status_at = $status_at WHERE version = $version;
