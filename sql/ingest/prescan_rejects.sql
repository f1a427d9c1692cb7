-- The lines of file $file_kind of dump $dump_id that the pre-scan rejected: prescan_rejected_lines is registered by
-- musim.ingest.lastfm as an Arrow table over the pre-scan's buffers (row_id: the line number, label: the index of its
-- reason in $reasons, raw: the line as musim.ingest.prescan.show_bytes shows it).
INSERT INTO ingest_rejects (dump_id, file_kind, line_no, raw, reason)
SELECT $dump_id, $file_kind, row_id, raw::VARCHAR, list_extract($reasons::VARCHAR[], label + 1)
FROM prescan_rejected_lines;
