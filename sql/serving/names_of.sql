-- The names of the artists $ids.
SELECT artist_id, name FROM artist WHERE artist_id IN (SELECT unnest($ids));
