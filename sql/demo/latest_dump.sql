-- Id, file, line counts, users and artists of the latest ingested dump.
SELECT dump_id, file_name, lines, loaded, rejected, users, artists FROM lastfm_dump ORDER BY seq DESC LIMIT 1;
