-- The tables of the open database (a published snapshot).
SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main';
