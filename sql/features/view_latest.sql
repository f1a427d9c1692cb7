-- The registry row (all columns) of a view's highest version, or of version $view_version when it is not null.
SELECT * FROM feature_view
WHERE name = $view_name AND ($view_version IS NULL OR version = $view_version)
ORDER BY version DESC LIMIT 1;
