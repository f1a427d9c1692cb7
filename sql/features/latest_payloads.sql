-- The (entity_key, payload) of every row of the scratch table fs_latest, by entity.
SELECT entity_key, payload FROM fs_latest ORDER BY entity_key;
