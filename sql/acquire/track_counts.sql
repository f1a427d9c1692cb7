-- The stored tracks, and the artists they belong to.
SELECT count(*), count(DISTINCT artist_id) FROM track;
