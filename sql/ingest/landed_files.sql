-- The landed files already ingested, by location, size and modification time.
SELECT location, size, mtime FROM landing_file;
