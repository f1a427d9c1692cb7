-- The definition hash of a registered feature service, or none.
SELECT definition_hash FROM feature_service WHERE name = $service;
