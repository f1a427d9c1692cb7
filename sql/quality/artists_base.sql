-- The artist rows GX validates row by row.
SELECT artist_id, artist_key, mbid, name, name_norm, is_placeholder FROM artist;
