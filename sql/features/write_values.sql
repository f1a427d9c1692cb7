-- Materialise fs_new(entity_key, vec) into feature_value at $created_at: only values that differ from the
-- entity's latest are written, so materialising unchanged inputs again writes nothing. A NULL vec ends the entity's
-- value (derived_gone.sql).
INSERT INTO feature_value (view_name, view_version, entity_id, vec, created_at)
SELECT $view_name, $view_version, n.entity_key, n.vec, $created_at
FROM fs_new n
LEFT JOIN (
    SELECT entity_id, vec FROM feature_value
    WHERE view_name = $view_name AND view_version = $view_version
    QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY created_at DESC) = 1
) cur ON cur.entity_id = n.entity_key
WHERE cur.vec IS DISTINCT FROM n.vec;

INSERT INTO feature_materialization (view_name, view_version, created_at, entities, rows_written, lineage)
SELECT $view_name, $view_version, $created_at,
       (SELECT count(*) FROM (SELECT vec FROM feature_value
                              WHERE view_name = $view_name AND view_version = $view_version
                              QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY created_at DESC) = 1)
        WHERE vec IS NOT NULL),  -- the entities with a value now (a NULL row ended one: migration 032)
       (SELECT count(*) FROM feature_value
        WHERE view_name = $view_name AND view_version = $view_version AND created_at = $created_at),
       $lineage;

UPDATE feature_view SET lineage = $lineage, materialised_at = $created_at
WHERE name = $view_name AND version = $view_version;
