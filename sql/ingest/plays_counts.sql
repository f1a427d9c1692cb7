-- The lines loaded into plays for dump $dump_id, and its user-artist rows.
SELECT coalesce(sum(lines), 0), count(*) FROM lastfm_plays WHERE dump_id = $dump_id;
