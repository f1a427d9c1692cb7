-- The ids of every ingested dump, oldest first.
SELECT dump_id FROM lastfm_dump ORDER BY seq;
