-- The tables and views of the current database (a suite runs when all its tables are there).
SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()
UNION ALL
SELECT view_name FROM duckdb_views() WHERE database_name = current_database();
