-- Registers one feature view version (created now).
INSERT INTO feature_view (name, version, entity, kind, storage, schema, source, params, params_hash,
                          model_version, description, definition_hash, created_at)
VALUES ($view_name, $view_version, $entity, $kind, $storage, $schema, $source, $params, $params_hash,
        $model_version, $description, $definition_hash, now());
