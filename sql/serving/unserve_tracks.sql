-- In a copy of a published snapshot (its own connection; musim.serving.publish_without_tracks): take out the removed
-- library tracks $ids (a list of track ids) from its track table, and drop what the copy recorded it serves (recorded
-- again after). Its track_neighbors rows stay, as a publish from the warehouse keeps them: every query of them joins
-- the track table (a removed track is served neither as a track nor as a neighbour), and a track whose every
-- neighbour is gone is told apart from one never embedded (musim.queries). Everything else (the artist side, models,
-- quality results) stays as served.
DELETE FROM track WHERE list_contains($ids, track_id);
DROP TABLE IF EXISTS served_state;
