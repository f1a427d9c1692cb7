-- The artist of id $artist_id: display name, MBID (text) and whether it is a placeholder ('[unknown]': never
-- compared).
SELECT name, mbid::VARCHAR, is_placeholder FROM artist WHERE artist_id = $artist_id;
