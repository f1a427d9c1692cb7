-- The similarity build of dump $dump_id in a snapshot: its users, the seed metric's scale, k, min_listeners and
-- min_co_listeners, and the dump's rows in pair_lookup (the first rowid and one past the last; 0, 0 without pairs).
SELECT b.users, b.seed_raw_max, b.k, b.min_listeners, b.min_co_listeners, coalesce(r.first_row, 0),
       coalesce(r.first_row + r.row_count, 0)
FROM similarity_build b
JOIN lastfm_dump d USING (dump_id)
LEFT JOIN pair_lookup_dumps r ON r.dump_seq = d.seq
WHERE b.dump_id = $dump_id;
