-- Every ingested dump, oldest first.
SELECT dump_id, seq, file_name, format, lines, loaded, rejected, users, artists, finished_at
FROM lastfm_dump
ORDER BY seq;
