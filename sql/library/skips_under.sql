-- The skips recorded for paths under one of the folders $folders (absolute paths, no trailing slash).
SELECT s.source_path
FROM library_skip s
WHERE EXISTS (SELECT 1 FROM (SELECT unnest($folders::VARCHAR[]) AS folder) f
              WHERE starts_with(s.source_path, rtrim(f.folder, '/') || '/'))
ORDER BY s.source_path
