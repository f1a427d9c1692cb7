-- The skips of the paths $paths (files a scan of their folder found gone: deleted, moved away) go.
DELETE FROM library_skip WHERE source_path IN (SELECT unnest($paths::VARCHAR[]));
