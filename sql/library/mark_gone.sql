-- Record what a scan found: the tracks $gone (ids) whose file is gone are marked from now when they were not yet
-- (gone_at stays the moment they went); the tracks $back (ids: their file is there again, at its path or moved)
-- are not gone any more.
UPDATE library_track SET gone_at = now() WHERE track_id IN (SELECT unnest($gone::VARCHAR[])) AND gone_at IS NULL;
UPDATE library_track SET gone_at = NULL WHERE track_id IN (SELECT unnest($back::VARCHAR[])) AND gone_at IS NOT NULL;
