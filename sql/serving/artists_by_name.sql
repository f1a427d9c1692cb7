-- Artists named $name_norm (normalised name), then those keyed $name_key (musim.names.name_key), each an index
-- lookup in the snapshot: (how: 0 by name, 1 by key), artist_id, name.
SELECT 0 AS how, artist_id, name FROM artist WHERE name_norm = $name_norm
UNION ALL
SELECT 1 AS how, artist_id, name FROM artist WHERE name_key = $name_key;
