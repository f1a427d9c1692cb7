-- Attach the new snapshot being written (a partial file) as `snap`, in DuckDB 1.5's storage format: a snapshot is
-- for any DuckDB client, and clients before 2.0 (the duckdb CLI on PyPI, most JDBC/DBeaver drivers) cannot read
-- the 2.0 format (`IO Error: Trying to read a database file with version number ...`). A file keeps the format it
-- was created with when it is opened again (the views are created afterwards, musim.serving._finish_snapshot).
-- Raise it only with the minimum client version the README states.
ATTACH $path AS snap (STORAGE_VERSION 'v1.5.0');
