-- When a view's newest stored values were created, or null.
SELECT max(created_at) FROM feature_value WHERE view_name = $view_name AND view_version = $view_version;
