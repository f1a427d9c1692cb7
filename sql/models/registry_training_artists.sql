-- The artists a version trained on (none recorded: registered before migration 017, or by a caller that gave none).
SELECT artist_id FROM model_training_artist WHERE version = $version;
