-- What the snapshot serves: the latest built dump and its similarity build parameters.
SELECT d.dump_id, d.file_name, d.format, d.users AS dump_users, d.artists AS dump_artists, d.plays_rows,
       b.min_listeners, b.min_co_listeners, b.k, b.users, b.artists, b.pairs, b.built_at
FROM latest_dump l
JOIN lastfm_dump d USING (dump_id)
JOIN similarity_build b USING (dump_id);
