-- The first field of every row staged into the probe, in read order (the sentinel rows tell the lines apart).
SELECT user_key FROM ingest_scratch.probe ORDER BY rowid;
