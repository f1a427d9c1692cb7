-- The format and profiles file of dump $dump_id, or none.
SELECT format, profiles_file FROM lastfm_dump WHERE dump_id = $dump_id;
