-- The dump of the published snapshot's latest similarity build (the latest_dump view), or none.
SELECT dump_id FROM latest_dump;
