-- Attach the DuckDB file $path read-only as {{alias}} and make it the default database.
ATTACH $path AS {{alias}} (READ_ONLY);
USE {{alias}};
