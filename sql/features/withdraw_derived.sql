-- Withdraw what build $run_id materialised into the derived views (its features gate failed): the values stamped with
-- its materialisations, the materialisations, and each view's lineage and materialised_at back to its latest
-- remaining materialisation (none: NULL). Readers see the values from before the build again.
CREATE OR REPLACE TEMP TABLE fs_withdrawn AS
SELECT m.view_name, m.view_version, m.created_at FROM feature_materialization m
JOIN feature_view v ON v.name = m.view_name AND v.version = m.view_version
WHERE json_extract_string(m.lineage, '$.run_id') = $run_id AND json_extract_string(v.source, '$.type') = 'derived';

DELETE FROM feature_value v USING fs_withdrawn w
WHERE v.view_name = w.view_name AND v.view_version = w.view_version AND v.created_at = w.created_at;

DELETE FROM feature_materialization m USING fs_withdrawn w
WHERE m.view_name = w.view_name AND m.view_version = w.view_version AND m.created_at = w.created_at;

UPDATE feature_view SET
    lineage = (SELECT m.lineage FROM feature_materialization m
               WHERE m.view_name = feature_view.name AND m.view_version = feature_view.version
               ORDER BY m.created_at DESC LIMIT 1),
    materialised_at = (SELECT max(m.created_at) FROM feature_materialization m
                       WHERE m.view_name = feature_view.name AND m.view_version = feature_view.version)
WHERE EXISTS (SELECT 1 FROM fs_withdrawn w WHERE w.view_name = feature_view.name AND w.view_version = feature_view.version);
