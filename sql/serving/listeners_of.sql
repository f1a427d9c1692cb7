-- Listeners in dump $dump_id of one artist (to choose among artists sharing a name).
SELECT listeners FROM artist_listeners WHERE artist_id = $artist_id AND dump_id = $dump_id;
