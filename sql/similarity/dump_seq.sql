-- The ingest seq of dump $dump_id: the key of its co-listened pairs (artist_pair_counts).
SELECT seq FROM lastfm_dump WHERE dump_id = $dump_id;
