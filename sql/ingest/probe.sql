-- An empty table shaped like the scratch table {{table}}, to stage the irregular lines into one by one.
CREATE OR REPLACE TABLE ingest_scratch.probe AS SELECT * FROM ingest_scratch.{{table}} LIMIT 0;
