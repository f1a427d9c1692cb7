-- The listener threshold of the similarity build of dump $dump_id.
SELECT min_listeners FROM similarity_build WHERE dump_id = $dump_id;
