-- The tables of the connected database (the serving snapshot or the warehouse).
SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()
