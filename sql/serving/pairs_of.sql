-- The co-listened pairs of $artist_id among the rows $first_row to $end_row - 1 of the snapshot's pair_lookup
-- (one dump's rows: pair_lookup_dumps, read once per connection): consecutive rows that the rowid range and
-- the artist's zone map find in one row group or two, scored and ranked by musim.similarity.metrics.
SELECT neighbor_id, co_listeners FROM pair_lookup
WHERE rowid >= $first_row AND rowid < $end_row AND artist_id = $artist_id;
