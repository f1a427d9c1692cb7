-- Registers one feature service (created now).
INSERT INTO feature_service (name, description, model_version, as_of, definition_hash, created_at)
VALUES ($service, $description, $model_version, $as_of, $definition_hash, now());
