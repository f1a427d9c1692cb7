-- How many of the tracks $ids (a list of track ids) the published snapshot still holds in its track table (run on
-- the snapshot, read-only).
SELECT count(*) FROM track WHERE list_contains($ids, track_id);
