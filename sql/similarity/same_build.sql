-- The build of dump $dump_id made with the same parameters as the one asked for (the catalogue: its requested size
-- or all the eligible artists, whichever is smaller, as sql/similarity/catalogue.sql takes them), with its quality
-- state (similarity_build_state, migration 018) and the fingerprint of the code that made it (migration 024; NULL
-- for a build recorded before it); none when the dump has no build or one of other parameters.
-- A build is one transaction (musim.similarity.build): a row here is a whole build.
SELECT s.built_at, s.check_run_id, s.check_passed, s.servable, b.users, b.artists, b.pairs, b.code_fingerprint
FROM similarity_build b
JOIN similarity_build_state s USING (dump_id)
WHERE b.dump_id = $dump_id AND b.min_listeners = $min_listeners AND b.min_co_listeners = $min_co_listeners
  AND b.k = $k AND b.catalogue_size = least($catalogue_size, b.artists);
