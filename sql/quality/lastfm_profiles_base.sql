-- The profile rows of dump $dump_id that GX validates row by row.
SELECT user_id, gender, age, country, signup FROM lastfm_profile WHERE dump_id = $dump_id;
