-- Remember the landed file $location ($size bytes, modified at $mtime) as ingested into dump $dump_id.
INSERT INTO landing_file (location, size, mtime, dump_id) VALUES ($location, $size, $mtime, $dump_id)
ON CONFLICT DO NOTHING;
