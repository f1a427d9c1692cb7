-- The artist whose MBID is $mbid (a canonical UUID string).
SELECT artist_id FROM artist WHERE mbid = $mbid::UUID;
