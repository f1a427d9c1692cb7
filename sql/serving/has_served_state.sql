-- Whether a snapshot recorded what it serves (snapshots published before served_state was kept did not).
SELECT count(*) > 0 FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'served_state';
