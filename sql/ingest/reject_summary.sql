-- Why the lines of one file of dump $dump_id were rejected: each reason (its short form: before any
-- parenthesis or colon), how many lines, the first of them; the most frequent first.
SELECT split_part(regexp_replace(reason, ' \(.*$', ''), ':', 1) AS reason, count(*) AS lines, min(line_no) AS first_line
FROM ingest_rejects
WHERE dump_id = $dump_id AND file_kind = $file_kind
GROUP BY ALL
ORDER BY lines DESC, first_line
