-- The names of the applied migrations numbered $versions (a list): those this musim does not know (musim.warehouse).
SELECT version, name FROM schema_migrations WHERE list_contains($versions, version) ORDER BY version;
