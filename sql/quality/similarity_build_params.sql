-- The parameters of dump $dump_id's similarity build, or none.
SELECT min_listeners, min_co_listeners, k, catalogue_size FROM similarity_build WHERE dump_id = $dump_id;
