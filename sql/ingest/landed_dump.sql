-- The dump the landed file $location ($size bytes, modified at $mtime) was ingested as.
SELECT dump_id FROM landing_file WHERE location = $location AND size = $size AND mtime = $mtime;
