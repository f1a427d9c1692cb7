-- Files skipped by the scans so far, with the reason.
SELECT source_path, reason, detail, seen_at FROM library_skip ORDER BY reason, source_path
