-- Every artist's listeners in dump $dump_id (loaded once per snapshot connection by `musim similar`).
SELECT artist_id, listeners FROM artist_listeners WHERE dump_id = $dump_id;
