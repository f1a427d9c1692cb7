-- Drop the ingest's in-memory scratch database (if it was attached).
DETACH DATABASE IF EXISTS ingest_scratch;
