-- The dumps with a similarity build whose id starts with $prefix, oldest first.
SELECT b.dump_id FROM similarity_build b JOIN lastfm_dump d USING (dump_id) WHERE starts_with(b.dump_id, $prefix)
ORDER BY d.seq;
