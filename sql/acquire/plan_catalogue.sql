-- Record the catalogue (registered relation plan_catalogue: artist_id, name, listeners, dump_id,
-- catalogue_rank): new artists start pending, known ones keep their state; artists that left the
-- catalogue keep their state but lose their rank.
INSERT INTO acquire_artist (artist_id, name, catalogue_rank, listeners, dump_id, status, planned_at, updated_at)
SELECT artist_id, name, catalogue_rank, listeners, dump_id, 'pending', now(), now()
FROM plan_catalogue
ON CONFLICT (artist_id) DO UPDATE SET
    name = excluded.name,
    catalogue_rank = excluded.catalogue_rank,
    listeners = excluded.listeners,
    dump_id = excluded.dump_id,
    planned_at = excluded.planned_at;
UPDATE acquire_artist SET catalogue_rank = NULL
WHERE catalogue_rank IS NOT NULL AND artist_id NOT IN (SELECT artist_id FROM plan_catalogue);
