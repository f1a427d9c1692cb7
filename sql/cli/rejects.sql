-- The rejected lines of dump $dump_id, by file and line number; at most $limit (NULL: all).
-- raw_escaped: the raw text is written escaped (each backslash doubled, each byte that is not valid UTF-8 as
-- \xNN: musim.ingest.prescan.show_bytes), as for every line the pre-scan rejected as invalid UTF-8 or too long;
-- else it is the line as it is.
SELECT file_kind, line_no, reason, raw,
       reason LIKE 'invalid UTF-8 (%' OR reason LIKE 'line too long (%' AS raw_escaped
FROM ingest_rejects
WHERE dump_id = $dump_id
ORDER BY file_kind, line_no
LIMIT $limit;
