-- The row ids of the lines load_dump.sql rejected because their user-artist plays sum past 2^63-1 (none in
-- any real dump): the C merge drops them (musim.ingest.plays_360k.merge_plays).
SELECT row_id FROM stage_overflow ORDER BY row_id;
