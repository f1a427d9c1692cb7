SELECT artist_id, raw_name, dump_id, lines FROM q_base;
