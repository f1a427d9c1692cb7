-- How many feature services are registered.
SELECT count(*) FROM feature_service;
