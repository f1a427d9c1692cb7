-- The artists the dump $dump_id brought into the catalogue (none of its spellings met an artist stored before).
SELECT artist_id FROM artist WHERE first_dump_id = $dump_id;
