-- The registry row (all columns) of one feature service, or none.
SELECT * FROM feature_service WHERE name = $service;
