-- The file of the connection's database (NULL in memory): which cursors share settings (musim.warehouse.in_order).
SELECT path FROM duckdb_databases() WHERE database_name = current_database();
