-- Files skipped by an earlier scan, with their content hash then and the reason.
SELECT source_path, source_sha256, reason, detail FROM library_skip
