-- The rejected lines of dump $dump_id per file and reason (without its parenthesised detail), most first; ties by
-- file and reason (the order rows group in differs between the two ingest engines: one dump, one summary).
SELECT file_kind, regexp_replace(reason, ' \(.*$', '') AS reason, count(*)
FROM ingest_rejects
WHERE dump_id = $dump_id
GROUP BY ALL
ORDER BY 3 DESC, 1, 2;
