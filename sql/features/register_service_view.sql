-- Records the view at one position of a feature service.
INSERT INTO feature_service_view VALUES ($service, $position, $view_name, $view_version);
