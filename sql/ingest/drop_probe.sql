-- Drop the probe of the irregular lines.
DROP TABLE ingest_scratch.probe;
