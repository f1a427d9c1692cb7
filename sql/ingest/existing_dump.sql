-- What was recorded of dump $dump_id when it was ingested (no row: not ingested yet).
SELECT dump_id, format, lines, loaded, rejected, users, artists, file_name, plays_rows, profile_lines,
       profile_loaded, profile_rejected
FROM lastfm_dump
WHERE dump_id = $dump_id;
