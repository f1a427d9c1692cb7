-- The id the next new catalogue artist gets.
SELECT coalesce(max(artist_id), 0) + 1 FROM artist;
