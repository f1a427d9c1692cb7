-- The id of the latest ingested dump, or none.
SELECT dump_id FROM lastfm_dump ORDER BY seq DESC LIMIT 1;
