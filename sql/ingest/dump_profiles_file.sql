-- The profiles file recorded for dump $dump_id: (file name, sha256), both NULL when it was ingested without one.
SELECT profiles_file, profiles_sha256 FROM lastfm_dump WHERE dump_id = $dump_id;
