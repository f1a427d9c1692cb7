-- Tables and views of the published snapshot, with their columns (the page adapts to what is there).
SELECT c.table_name, c.column_name, c.data_type
FROM duckdb_columns() c
WHERE c.database_name = current_database() AND c.schema_name = 'main'
ORDER BY c.table_name, c.column_index;
