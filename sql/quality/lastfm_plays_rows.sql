-- What GX sees of each plays row: the user's key, the artist's key and name, plays and merged lines.
SELECT u.user_key, a.artist_key, a.name AS artist_name, b.plays, b.lines
FROM q_base b
LEFT JOIN lastfm_user u USING (user_id)
LEFT JOIN artist a USING (artist_id);
