SELECT artist_id, artist_key, name, name_norm FROM q_base;
