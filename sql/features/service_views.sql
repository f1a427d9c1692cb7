-- The (name, version) of a feature service's views, in position order.
SELECT view_name, view_version FROM feature_service_view WHERE service = $service ORDER BY position;
