-- The ids of the dumps whose id starts with $prefix, oldest first.
SELECT dump_id FROM lastfm_dump WHERE starts_with(dump_id, $prefix) ORDER BY seq;
