-- How many lines of file $file_kind of dump $dump_id were rejected.
SELECT count(*) FROM ingest_rejects WHERE dump_id = $dump_id AND file_kind = $file_kind;
