-- Every dump with a similarity build.
SELECT dump_id FROM similarity_build;
