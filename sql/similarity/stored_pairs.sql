-- The stored pairs of dump $dump_id (the DuckDB engine's, summarised for the build's record).
SELECT artist_a, artist_b, co_listeners FROM artist_pairs WHERE dump_id = $dump_id;
