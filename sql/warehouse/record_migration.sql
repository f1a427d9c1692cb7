-- Records one applied migration.
INSERT INTO schema_migrations (version, name) VALUES ($version, $migration);
