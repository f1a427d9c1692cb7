-- The rejected lines of dump $dump_id, by file and line number; at most $limit (NULL: all).
SELECT file_kind, line_no, reason, raw
FROM ingest_rejects
WHERE dump_id = $dump_id
ORDER BY file_kind, line_no
LIMIT $limit;
