-- The descriptor parameter sets (their hash and parameters), for the suite to tell which have today's layout.
SELECT params_hash, params::VARCHAR FROM feature_params WHERE kind = 'descriptors' ORDER BY params_hash;
