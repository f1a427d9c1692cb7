-- Names (artist_id, name) of the artists whose ids are in the list $ids.
SELECT artist_id, name FROM artist WHERE list_contains($ids, artist_id);
