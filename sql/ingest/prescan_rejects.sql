-- The lines of file $file_kind of dump $dump_id that the pre-scan rejected (parallel lists: $line_nos, $raws,
-- $reasons).
INSERT INTO ingest_rejects (dump_id, file_kind, line_no, raw, reason)
SELECT $dump_id, $file_kind, unnest($line_nos), unnest($raws), unnest($reasons);
