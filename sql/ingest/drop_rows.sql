-- Delete the rows of staged_drops (registered by musim.ingest.staging: the rowids DuckDB made of irregular lines)
-- from the scratch table {{table}}.
DELETE FROM ingest_scratch.{{table}} WHERE rowid IN (SELECT row_id FROM staged_drops);
