-- Entities and rows written by one materialisation of a view.
SELECT entities, rows_written FROM feature_materialization
WHERE view_name = $view_name AND view_version = $view_version AND created_at = $created_at;
