-- The library tracks marked gone (gone_at, migration 028) whose source path is among $paths: their file is there.
SELECT track_id FROM library_track WHERE gone_at IS NOT NULL AND source_path IN (SELECT unnest($paths::VARCHAR[]))
