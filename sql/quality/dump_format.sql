-- The format, profiles file and seq (the key of its co-listened pairs) of dump $dump_id, or none.
SELECT format, profiles_file, seq FROM lastfm_dump WHERE dump_id = $dump_id;
