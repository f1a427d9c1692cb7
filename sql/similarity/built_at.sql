-- When the similarity build of dump $dump_id was made (in the warehouse or a snapshot); none without a build.
SELECT built_at FROM similarity_build WHERE dump_id = $dump_id;
