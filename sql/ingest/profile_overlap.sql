-- The profiles loaded for dump $dump_id, and how many of their users have plays in it (a profiles file of another
-- dump loads its users' profiles and matches none of this dump's).
SELECT count(*),
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM lastfm_plays pl WHERE pl.dump_id = p.dump_id
                                                                     AND pl.user_id = p.user_id))
FROM lastfm_profile p WHERE p.dump_id = $dump_id;
