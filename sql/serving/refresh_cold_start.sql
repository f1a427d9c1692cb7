-- The audio neighbours' cold_start in the new snapshot `snap`, against the dump it serves by default (its latest
-- build, snap.latest_dump): an artist with no co-listened pair there has its place among the others from its
-- audio alone. The flag stored when a model was published describes that day's dump, so a family not published
-- again after a new dump served yesterday's flags (an artist whose every listening line was gone stayed "not cold
-- start" until its family's next publish).
UPDATE snap.artist_neighbors_audio SET cold_start = artist_id NOT IN (
    SELECT p.artist_a FROM artist_pairs p JOIN snap.latest_dump USING (dump_id)
    UNION ALL
    SELECT p.artist_b FROM artist_pairs p JOIN snap.latest_dump USING (dump_id)
);
