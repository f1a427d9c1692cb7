-- Every artist's id and display name (musim.serving keys the names for the snapshot).
SELECT artist_id, name FROM artist;
