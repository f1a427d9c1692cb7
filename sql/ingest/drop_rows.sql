-- Delete the rows $rows (rowids: those DuckDB made of irregular lines) from the scratch table {{table}}.
DELETE FROM ingest_scratch.{{table}} WHERE rowid IN (SELECT unnest($rows));
