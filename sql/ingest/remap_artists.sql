-- The dump's spellings of artists that joined a library artist (musim.library.identity.join_dump, after
-- sql/ingest/load_dump.sql gave them ids): their plays are loaded under the library artist, $to_ids[i] in place of
-- $from_ids[i].
UPDATE stage_spelling_map SET artist_id = m.to_id
FROM (SELECT unnest($from_ids) AS from_id, unnest($to_ids) AS to_id) m
WHERE stage_spelling_map.artist_id = m.from_id;
