-- The rejected lines of dump $dump_id per file and reason (without its parenthesised detail), most first.
SELECT file_kind, regexp_replace(reason, ' \(.*$', '') AS reason, count(*)
FROM ingest_rejects
WHERE dump_id = $dump_id
GROUP BY ALL
ORDER BY 3 DESC;
