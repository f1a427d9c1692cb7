-- How many neighbour rows of the published snapshot still name one of the tracks $ids (a list of track ids), as the
-- track or as its neighbour (run on the snapshot, read-only).
SELECT count(*) FROM track_neighbors WHERE list_contains($ids, track_id) OR list_contains($ids, neighbor_track_id);
