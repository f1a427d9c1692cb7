-- How many users of a dump played anything.
SELECT count(DISTINCT user_id) FROM lastfm_plays WHERE dump_id = $dump_id AND plays > 0;
