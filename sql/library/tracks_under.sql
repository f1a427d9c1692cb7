-- The library tracks whose source path lies under one of the folders $folders (absolute paths, no trailing slash)
-- or is one of $paths (files given whose content changed), with when a scan first found their file gone (gone_at, migration 028; NULL when not known gone).
SELECT t.track_id, t.source_path, t.gone_at
FROM library_track t
WHERE EXISTS (SELECT 1 FROM (SELECT unnest($folders::VARCHAR[]) AS folder) f
              WHERE starts_with(t.source_path, rtrim(f.folder, '/') || '/'))
   OR list_contains($paths::VARCHAR[], t.source_path)
ORDER BY t.source_path, t.track_id
