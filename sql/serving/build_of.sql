-- The similarity build of dump $dump_id: its users, the seed metric's scale and k.
SELECT users, seed_raw_max, k FROM similarity_build WHERE dump_id = $dump_id;
