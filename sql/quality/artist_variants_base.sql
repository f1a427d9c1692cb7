-- The spelling rows GX validates row by row.
SELECT artist_id, raw_name, dump_id, lines FROM artist_name_variant;
