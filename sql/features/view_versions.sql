-- The registered versions of feature view $view_name, in order (none when no view has that name).
SELECT version FROM feature_view WHERE name = $view_name ORDER BY version;
