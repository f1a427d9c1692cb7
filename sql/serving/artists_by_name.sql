-- Artists whose normalised name is $name_norm (an index lookup in the snapshot).
SELECT artist_id, name FROM artist WHERE name_norm = $name_norm;
