-- The dumps with a similarity build whose id starts with $prefix.
SELECT dump_id FROM similarity_build WHERE starts_with(dump_id, $prefix);
