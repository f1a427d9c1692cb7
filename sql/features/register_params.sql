-- Records an extractor's parameters under their hash (once).
INSERT INTO feature_params (params_hash, kind, params) VALUES ($params_hash, $kind, $params) ON CONFLICT DO NOTHING;
