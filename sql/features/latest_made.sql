-- The (entity_key, payload, created_at) of every row of the scratch table fs_latest, by entity: what a local copy of
-- the values is made from (a recompute that rewrites a tensor under the same object key gives it a new created_at).
SELECT entity_key, payload, created_at FROM fs_latest ORDER BY entity_key;
