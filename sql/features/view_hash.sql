-- The definition hash of a registered feature view version, or none.
SELECT definition_hash FROM feature_view WHERE name = $view_name AND version = $view_version;
