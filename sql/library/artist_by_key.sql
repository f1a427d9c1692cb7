-- The catalogue artist with the key $artist_key (none or one: keys are unique).
SELECT artist_id FROM artist WHERE artist_key = $artist_key;
